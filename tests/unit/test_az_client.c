/* Unit tests for az_client's error sentences: ARM's {"error": {"code",
 * "message"}} for the codes users meet (a role missing, a resource group,
 * app or subscription that does not exist, a token refused), Kudu's
 * answers (credentials refused, a deployment already running, its
 * {"Message"}), throttling, and bodies that are not JSON; each one
 * sentence naming what was called, with a type the adapter can act on.
 * The calls themselves are exercised through a kernel against the Azure
 * stand-in (tests/azure_platform). */
#include <stdlib.h>
#include <string.h>

#include "az_client.h"
#include "check.h"

static char type[64], out[1600];

static void explain(enum az_service service, long status, const char *body)
{
    az_client_explain(service, status, body, strlen(body), "function app hello in resource group rg", type,
                      sizeof type, out, sizeof out);
    CHECK(strchr(out, '\n') == NULL && strchr(out, '\r') == NULL);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "%s: %s\n", type, out);
}

int main(void)
{
    explain(AZ_ARM, 403, "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"The client 'x' with object id "
                         "'y' does not have authorization to perform action 'Microsoft.Web/sites/write'.\"}}");
    CHECK(strcmp(type, "AuthorizationFailed") == 0);
    CHECK(strstr(out, "the service principal may not do this on function app hello in resource group rg") != NULL);
    CHECK(strstr(out, "Microsoft.Web/sites/write") && strstr(out, "Contributor"));

    explain(AZ_ARM, 404, "{\"error\":{\"code\":\"ResourceGroupNotFound\",\"message\":\"Resource group 'rg' could not "
                         "be found.\"}}");
    CHECK(strcmp(type, "ResourceGroupNotFound") == 0 && strstr(out, "resource_group=") && strstr(out, "'rg'"));

    explain(AZ_ARM, 404, "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"The Resource "
                         "'Microsoft.Web/sites/hello' under resource group 'rg' was not found.\"}}");
    CHECK(strcmp(type, "ResourceNotFound") == 0);
    CHECK(strstr(out, "function app hello in resource group rg does not exist") && strstr(out, "az functionapp create"));

    explain(AZ_ARM, 404, "{\"error\":{\"code\":\"SubscriptionNotFound\",\"message\":\"The subscription 's' could not "
                         "be found.\"}}");
    CHECK(strstr(out, "no such subscription") && strstr(out, "AZURE_SUBSCRIPTION_ID"));

    explain(AZ_ARM, 401, "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"The access token is "
                         "invalid.\"}}");
    CHECK(strcmp(type, "InvalidAuthenticationToken") == 0 && strstr(out, "did not accept the service principal's "
                                                                         "token") && strstr(out, "AZURE_TENANT_ID"));

    explain(AZ_ARM, 400, "{\"error\":{\"code\":\"BadRequest\",\"message\":\"instanceMemoryMB must be 512, 2048 or "
                         "4096.\"}}");
    CHECK(strcmp(type, "BadRequest") == 0);
    CHECK(strcmp(out, "Azure Resource Manager refused a call for function app hello in resource group rg: BadRequest: "
                      "instanceMemoryMB must be 512, 2048 or 4096.") == 0);

    explain(AZ_KUDU, 401, "401 - Unauthorized: Access is denied due to invalid credentials.");
    CHECK(strcmp(type, "Unauthenticated") == 0);
    CHECK(strstr(out, "Kudu of function app hello") && strstr(out, "publish profile again") &&
          strstr(out, "invalid credentials"));

    explain(AZ_KUDU, 409, "There is a deployment currently in progress.\r\nPlease try again when it completes.");
    CHECK(strcmp(type, "Conflict") == 0 && strstr(out, "busy with another deployment") &&
          strstr(out, "in progress.  Please try again"));

    explain(AZ_KUDU, 404, "{\"Message\":\"Deployment 'x' not found.\"}");
    CHECK(strcmp(type, "HTTP404") == 0 && strcmp(out, "Kudu answered HTTP 404 for function app hello in resource group "
                                                     "rg: Deployment 'x' not found.") == 0);

    explain(AZ_APP, 429, "");
    CHECK(strcmp(type, "TooManyRequests") == 0 && strstr(out, "the function app is throttling") &&
          strstr(out, "no message"));

    explain(AZ_ARM, 500, "<html><body>gateway\nerror</body></html>");
    CHECK(strcmp(type, "HTTP500") == 0 && strstr(out, "answered HTTP 500") && strstr(out, "gateway error"));
    return check_report();
}
