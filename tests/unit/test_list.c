/* Unit tests for list: push at both ends, order of a walk, removing while
 * walking, removing twice, an empty list's first and last, and getting the
 * element back from its node. */
#include <string.h>

#include "check.h"
#include "list.h"

struct item {
    int value;
    struct list_node node;
};

/* The values of HEAD's list in order, as digits ("312"). */
static void values(const struct list_node *head, char *out)
{
    struct list_node *node, *next;
    list_for_each_safe(node, next, (struct list_node *)head) {
        *out++ = (char)('0' + list_entry(node, struct item, node)->value);
    }
    *out = '\0';
}

int main(void)
{
    struct list_node head;
    list_init(&head);
    CHECK(list_is_empty(&head) && list_first(&head) == NULL && list_last(&head) == NULL);

    struct item items[5] = {0};
    for (int i = 0; i < 5; i++)
        items[i].value = i;
    CHECK(!list_is_linked(&items[0].node)); /* zeroed: in no list */
    list_push_back(&head, &items[1].node);
    list_push_back(&head, &items[2].node);
    list_push_front(&head, &items[3].node);
    char seen[8];
    values(&head, seen);
    CHECK(strcmp(seen, "312") == 0);
    CHECK(list_entry(list_first(&head), struct item, node) == &items[3]);
    CHECK(list_entry(list_last(&head), struct item, node) == &items[2]);

    list_insert_after(&items[3].node, &items[4].node);
    values(&head, seen);
    CHECK(strcmp(seen, "3412") == 0);

    /* removing the current node while walking */
    struct list_node *node, *next;
    list_for_each_safe(node, next, &head) {
        if (list_entry(node, struct item, node)->value % 2 == 0)
            list_remove(node);
    }
    values(&head, seen);
    CHECK(strcmp(seen, "31") == 0);
    CHECK(!list_is_linked(&items[4].node) && !list_is_linked(&items[2].node));

    list_remove(&items[4].node); /* twice: harmless */
    list_remove(&items[3].node);
    list_remove(&items[3].node);
    values(&head, seen);
    CHECK(strcmp(seen, "1") == 0);
    list_remove(&items[1].node);
    CHECK(list_is_empty(&head) && list_first(&head) == NULL);

    list_push_back(&head, &items[0].node); /* a removed node can go in again */
    CHECK(list_first(&head) == &items[0].node && list_last(&head) == &items[0].node);
    return check_report();
}
