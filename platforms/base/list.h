/* list: an intrusive doubly linked list, the one way lists are kept here
 * (calls in flight, requests to write, deadlines, calls backing off,
 * deploys in progress). The owner embeds a `struct list_node` head, each
 * element embeds a node, and list_entry gets the element back from its
 * node; nothing is allocated. The head is circular (an empty list's head
 * points to itself), so adding and removing never test for the ends. An
 * element's node is zeroed (calloc) while it is in no list, and removing
 * it twice is harmless. */
#ifndef FAASET_LIST_H
#define FAASET_LIST_H

#include <stddef.h>

struct list_node {
    struct list_node *prev, *next;
};

/* The element of TYPE whose MEMBER is NODE. */
#define list_entry(node, type, member) ((type *)(void *)((char *)(node) - offsetof(type, member)))

/* Walks HEAD's nodes; the current one may be removed (NEXT is taken first). */
#define list_for_each_safe(node, next, head) \
    for ((node) = (head)->next, (next) = (node)->next; (node) != (head); (node) = (next), (next) = (node)->next)

static inline void list_init(struct list_node *head)
{
    head->prev = head->next = head;
}

static inline int list_is_empty(const struct list_node *head)
{
    return head->next == head;
}

/* NODE is in a list. */
static inline int list_is_linked(const struct list_node *node)
{
    return node->next != NULL;
}

/* Puts NODE right after AT (a list's head, or a node in it). */
static inline void list_insert_after(struct list_node *at, struct list_node *node)
{
    node->prev = at;
    node->next = at->next;
    at->next->prev = node;
    at->next = node;
}

static inline void list_push_front(struct list_node *head, struct list_node *node)
{
    list_insert_after(head, node);
}

static inline void list_push_back(struct list_node *head, struct list_node *node)
{
    list_insert_after(head->prev, node);
}

/* Takes NODE out of its list, if it is in one. */
static inline void list_remove(struct list_node *node)
{
    if (node->next == NULL)
        return;
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = NULL;
}

/* The first node of HEAD's list, or NULL when it is empty. */
static inline struct list_node *list_first(const struct list_node *head)
{
    return head->next != head ? head->next : NULL;
}

/* The last node, or NULL when the list is empty. */
static inline struct list_node *list_last(const struct list_node *head)
{
    return head->prev != head ? head->prev : NULL;
}

#endif
