/* Smallest libmox embedding: version check, a buffer, base64 and a domain. */
#include <stdio.h>
#include <string.h>

#include <mox/mox.h>

int main(void)
{
    mox_buf b = MOX_BUF_INIT;
    if (mox_base64_encode("libmox", 6, &b) != MOX_OK)
        return 1;
    mox_domain d = {0};
    int rc = mox_domain_parse("Bücher.Example", strlen("Bücher.Example"), 0, &d, NULL);
    printf("libmox %s %s %s\n", mox_version(), (char *)b.data, rc == MOX_OK ? d.ascii : "?");
    mox_domain_clear(&d);
    mox_buf_free(&b);
    return rc == MOX_OK ? 0 : 1;
}
