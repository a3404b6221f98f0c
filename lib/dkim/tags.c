/* Tag-list parsing (RFC 6376 §3.2), DKIM-Signature values (§3.5) and key
 * records (§3.6.1, RFC 8463 §4). Strict where RFC 6376 says MUST. */
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "dkim_priv.h"
#include "mox/text.h"

#define MAX_TAGS 64

static int is_wsp(int c) { return c == ' ' || c == '\t'; }

static size_t skip_fws(const char *s, size_t i, size_t n)
{
    for (;;) {
        if (i < n && is_wsp((unsigned char)s[i]))
            i++;
        else if (i + 2 < n && s[i] == '\r' && s[i + 1] == '\n' && is_wsp((unsigned char)s[i + 2]))
            i += 3;
        else
            return i;
    }
}

static int is_alnumpunc(int c) { return moxi_is_alpha(c) || moxi_is_digit(c) || c == '_'; }

int moxi_dkim_tags(const char *s, size_t len, moxi_dkim_tag *tags, size_t max, size_t *n,
                   mox_errinfo *ei)
{
    size_t i = 0, k = 0;
    *n = 0;
    for (;;) {
        i = skip_fws(s, i, len);
        if (i == len)
            break; /* empty list, or the optional trailing ";" */
        size_t ns = i;
        if (!moxi_is_alpha((unsigned char)s[i]))
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX, i,
                             "tag name expected at offset %zu", i);
        while (i < len && is_alnumpunc((unsigned char)s[i]))
            i++;
        size_t ne = i;
        i = skip_fws(s, i, len);
        if (i == len || s[i] != '=')
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX, i,
                             "'=' expected after tag name '%.*s'", (int)(ne - ns), s + ns);
        i = skip_fws(s, i + 1, len);
        size_t vs = i, ve = i;
        while (i < len && s[i] != ';') {
            unsigned char c = (unsigned char)s[i];
            if (c == '\r') {
                size_t j = skip_fws(s, i, len);
                if (j == i)
                    return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX, i,
                                     "bare CR or LF in tag '%.*s'", (int)(ne - ns), s + ns);
                i = j;
                continue;
            }
            if (is_wsp(c)) {
                i++;
                continue;
            }
            /* VALCHAR, plus UTF-8 (RFC 8616) */
            if (c < 0x21 || c == 0x7f)
                return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX, i,
                                 "invalid character 0x%02x in tag '%.*s'", c, (int)(ne - ns),
                                 s + ns);
            i++;
            ve = i;
        }
        for (size_t j = 0; j < k; j++)
            if (tags[j].name_len == ne - ns && !memcmp(tags[j].name, s + ns, ne - ns))
                return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_DUP, ns,
                                 "duplicate tag '%.*s'", (int)(ne - ns), s + ns);
        if (k == max)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_SYNTAX, ns, "too many tags");
        tags[k].name = s + ns;
        tags[k].name_len = ne - ns;
        tags[k].value = s + vs;
        tags[k].value_len = ve - vs;
        tags[k].offset = ns;
        k++;
        if (i == len)
            break;
        i++; /* ';' */
    }
    *n = k;
    return MOX_OK;
}

static const moxi_dkim_tag *find(const moxi_dkim_tag *t, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (t[i].name_len == nl && !memcmp(t[i].name, name, nl))
            return &t[i];
    return NULL;
}

static int eqi(const moxi_dkim_tag *t, const char *s)
{
    size_t n = strlen(s);
    return t->value_len == n && moxi_memcaseeq(t->value, s, n);
}

/* A selector is a dot-separated list of sub-domains: unlike a domain its
 * last label may be all digits ("20120113"). */
static int selector_ascii(const char *s, size_t len, char **out, mox_errinfo *ei)
{
    size_t lab = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (lab == 0 || lab > 63 || s[i - 1] == '-' || s[i - lab] == '-')
                goto bad;
            lab = 0;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (!moxi_is_alpha(c) && !moxi_is_digit(c) && c != '-' && c != '_')
            goto bad;
        lab++;
    }
    if (len > 253)
        goto bad;
    if (!(*out = moxi_strndup(s, len)))
        return MOX_ERR_NOMEM;
    for (char *p = *out; *p; p++)
        *p = (char)moxi_lower((unsigned char)*p);
    return MOX_OK;
bad:
    return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_DOMAIN, SIZE_MAX, "invalid selector '%.*s'",
                     (int)(len > 80 ? 80 : len), s);
}

int moxi_dkim_domain(const char *s, size_t len, int selector, char **out, mox_errinfo *ei)
{
    if (selector && mox_is_ascii(s, len))
        return selector_ascii(s, len, out, ei);
    mox_domain d = {NULL, NULL};
    mox_errinfo tmp;
    mox_errinfo_clear(&tmp);
    int rc = mox_domain_parse(s, len, MOX_DOMAIN_LAX, &d, &tmp);
    if (rc == MOX_ERR_NOMEM)
        return rc;
    if (rc)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_DOMAIN, SIZE_MAX, "invalid %s '%.*s': %s",
                         selector ? "selector" : "domain", (int)(len > 80 ? 80 : len), s, tmp.msg);
    *out = d.ascii;
    d.ascii = NULL;
    mox_domain_clear(&d);
    return MOX_OK;
}

/* Decimal number of at most `maxdigits` digits. */
static int number(const moxi_dkim_tag *t, size_t maxdigits, uint64_t *v, mox_errinfo *ei)
{
    if (t->value_len == 0 || t->value_len > maxdigits)
        goto bad;
    uint64_t x = 0;
    for (size_t i = 0; i < t->value_len; i++) {
        if (!moxi_is_digit((unsigned char)t->value[i]))
            goto bad;
        unsigned d = (unsigned)(t->value[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            goto bad;
        x = x * 10 + d;
    }
    *v = x;
    return MOX_OK;
bad:
    return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_NUMBER, t->offset, "invalid number in %.*s=",
                     (int)t->name_len, t->name);
}

static int b64(const moxi_dkim_tag *t, mox_buf *out, mox_errinfo *ei)
{
    int rc = mox_base64_decode(t->value, t->value_len, MOX_BASE64_ALLOW_WS, out, NULL);
    if (rc == MOX_OK || rc == MOX_ERR_NOMEM)
        return rc;
    return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_BASE64, t->offset, "%.*s= is not valid base64",
                     (int)t->name_len, t->name);
}

void mox_dkim_sig_free(mox_dkim_sig *sig)
{
    if (!sig)
        return;
    mox_free(sig->domain);
    mox_free(sig->selector);
    mox_free(sig->identity);
    mox_free(sig->identity_domain);
    for (size_t i = 0; i < sig->nheaders; i++)
        mox_free(sig->headers[i]);
    mox_free(sig->headers);
    mox_free(sig->bh);
    mox_free(sig->b);
    mox_free(sig->b_base64);
    mox_free(sig);
}

static int parse_h(mox_dkim_sig *sig, const moxi_dkim_tag *t, mox_errinfo *ei)
{
    size_t count = 1;
    for (size_t i = 0; i < t->value_len; i++)
        count += t->value[i] == ':';
    sig->headers = mox_calloc(count, sizeof *sig->headers);
    if (!sig->headers)
        return MOX_ERR_NOMEM;
    int from = 0;
    size_t i = 0;
    while (i <= t->value_len) {
        size_t j = i;
        while (j < t->value_len && t->value[j] != ':')
            j++;
        size_t a = skip_fws(t->value, i, j), e = j;
        while (e > a && (is_wsp((unsigned char)t->value[e - 1]) || t->value[e - 1] == '\r' ||
                         t->value[e - 1] == '\n'))
            e--;
        if (e == a)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_HEADERS, t->offset,
                             "empty header name in h=");
        for (size_t k = a; k < e; k++) {
            unsigned char c = (unsigned char)t->value[k];
            if (c < 33 || c > 126)
                return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_HEADERS, t->offset,
                                 "invalid header name in h=");
        }
        if (e - a == 4 && moxi_memcaseeq(t->value + a, "from", 4))
            from = 1;
        char *name = moxi_strndup(t->value + a, e - a);
        if (!name)
            return MOX_ERR_NOMEM;
        sig->headers[sig->nheaders++] = name;
        i = j + 1;
    }
    if (!from)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_HEADERS, t->offset,
                         "h= does not include From");
    return MOX_OK;
}

static int sig_parse(mox_dkim_sig *sig, const char *value, size_t len, mox_errinfo *ei)
{
    moxi_dkim_tag tags[MAX_TAGS];
    size_t n;
    int rc = moxi_dkim_tags(value, len, tags, MAX_TAGS, &n, ei);
    if (rc)
        return rc;
    static const char *const required[] = {"v", "a", "b", "bh", "d", "h", "s"};
    for (size_t i = 0; i < MOX_ARRAY_LEN(required); i++)
        if (!find(tags, n, required[i]))
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING, SIZE_MAX,
                             "missing required tag %s=", required[i]);
    const moxi_dkim_tag *t = find(tags, n, "v");
    if (t->value_len != 1 || t->value[0] != '1')
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_VERSION, t->offset,
                         "unsupported version v=%.*s", (int)(t->value_len > 20 ? 20 : t->value_len),
                         t->value);
    sig->version = 1;

    t = find(tags, n, "a");
    if (eqi(t, "rsa-sha256"))
        sig->algorithm = MOX_DKIM_ALG_RSA_SHA256;
    else if (eqi(t, "ed25519-sha256"))
        sig->algorithm = MOX_DKIM_ALG_ED25519_SHA256;
    else if (eqi(t, "rsa-sha1"))
        sig->algorithm = MOX_DKIM_ALG_RSA_SHA1;
    else
        return moxi_fail(ei, MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_ALGORITHM, t->offset,
                         "unsupported algorithm a=%.*s",
                         (int)(t->value_len > 40 ? 40 : t->value_len), t->value);

    sig->header_canon = sig->body_canon = MOX_DKIM_SIMPLE;
    if ((t = find(tags, n, "c"))) {
        const char *slash = memchr(t->value, '/', t->value_len);
        size_t hl = slash ? (size_t)(slash - t->value) : t->value_len;
        moxi_dkim_tag hc = *t, bc = *t;
        hc.value_len = hl;
        int ok = 1;
        if (eqi(&hc, "simple"))
            sig->header_canon = MOX_DKIM_SIMPLE;
        else if (eqi(&hc, "relaxed"))
            sig->header_canon = MOX_DKIM_RELAXED;
        else
            ok = 0;
        if (slash) {
            bc.value = slash + 1;
            bc.value_len = t->value_len - hl - 1;
            if (eqi(&bc, "simple"))
                sig->body_canon = MOX_DKIM_SIMPLE;
            else if (eqi(&bc, "relaxed"))
                sig->body_canon = MOX_DKIM_RELAXED;
            else
                ok = 0;
        }
        if (!ok)
            return moxi_fail(ei, MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_CANON, t->offset,
                             "unsupported canonicalization c=%.*s",
                             (int)(t->value_len > 40 ? 40 : t->value_len), t->value);
    }

    mox_buf buf = MOX_BUF_INIT;
    t = find(tags, n, "b");
    if ((rc = b64(t, &buf, ei)))
        goto out;
    if (buf.len == 0) {
        rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_BASE64, t->offset, "empty b=");
        goto out;
    }
    sig->b_len = buf.len;
    sig->b = (unsigned char *)mox_buf_steal(&buf, NULL);
    if (!sig->b)
        return MOX_ERR_NOMEM;
    for (size_t i = 0; i < t->value_len; i++)
        if (!is_wsp((unsigned char)t->value[i]) && t->value[i] != '\r' && t->value[i] != '\n')
            if ((rc = mox_buf_append_byte(&buf, (unsigned char)t->value[i])))
                goto out;
    sig->b_base64 = mox_buf_steal(&buf, NULL);
    if (!sig->b_base64)
        return MOX_ERR_NOMEM;

    t = find(tags, n, "bh");
    if ((rc = b64(t, &buf, ei)))
        goto out;
    if (buf.len != moxi_dkim_hash_len(moxi_dkim_alg_hash(sig->algorithm))) {
        rc = moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_BODY_HASH_LEN, t->offset,
                       "bh= has %zu bytes, not %zu", buf.len,
                       moxi_dkim_hash_len(moxi_dkim_alg_hash(sig->algorithm)));
        goto out;
    }
    sig->bh_len = buf.len;
    sig->bh = (unsigned char *)mox_buf_steal(&buf, NULL);
    if (!sig->bh)
        return MOX_ERR_NOMEM;

    t = find(tags, n, "d");
    if ((rc = moxi_dkim_domain(t->value, t->value_len, 0, &sig->domain, ei)))
        return rc;
    t = find(tags, n, "s");
    if ((rc = moxi_dkim_domain(t->value, t->value_len, 1, &sig->selector, ei)))
        return rc;
    if ((rc = parse_h(sig, find(tags, n, "h"), ei)))
        return rc;

    if ((t = find(tags, n, "i"))) {
        const char *at = NULL;
        for (size_t i = 0; i < t->value_len; i++)
            if (t->value[i] == '@')
                at = t->value + i;
        if (!at)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_IDENTITY, t->offset, "i= without @");
        size_t dl = t->value_len - (size_t)(at + 1 - t->value);
        if ((rc = moxi_dkim_domain(at + 1, dl, 0, &sig->identity_domain, NULL))) {
            if (rc == MOX_ERR_NOMEM)
                return rc;
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_IDENTITY, t->offset,
                             "i= has an invalid domain");
        }
        size_t il = strlen(sig->identity_domain), dlen = strlen(sig->domain);
        int within = il == dlen ? !memcmp(sig->identity_domain, sig->domain, dlen)
                                : il > dlen && sig->identity_domain[il - dlen - 1] == '.' &&
                                      !memcmp(sig->identity_domain + il - dlen, sig->domain, dlen);
        if (!within)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_IDENTITY, t->offset,
                             "i= domain %s is not d= %s or a subdomain of it", sig->identity_domain,
                             sig->domain);
        if (!(sig->identity = moxi_strndup(t->value, t->value_len)))
            return MOX_ERR_NOMEM;
    } else {
        if ((rc = mox_buf_appendf(&buf, "@%s", sig->domain)))
            goto out;
        sig->identity = mox_buf_steal(&buf, NULL);
        sig->identity_domain = moxi_strdup(sig->domain);
        if (!sig->identity || !sig->identity_domain)
            return MOX_ERR_NOMEM;
    }

    if ((t = find(tags, n, "l"))) {
        if ((rc = number(t, 76, &sig->length, ei)))
            return rc;
        sig->has_length = 1;
    }
    if ((t = find(tags, n, "q"))) {
        int ok = 0;
        size_t i = 0;
        while (i <= t->value_len) {
            size_t j = i;
            while (j < t->value_len && t->value[j] != ':')
                j++;
            size_t a = skip_fws(t->value, i, j), e = j;
            while (e > a && is_wsp((unsigned char)t->value[e - 1]))
                e--;
            if (e - a == 7 && moxi_memcaseeq(t->value + a, "dns/txt", 7))
                ok = 1;
            i = j + 1;
        }
        if (!ok)
            return moxi_fail(ei, MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_QUERY, t->offset,
                             "q= does not include dns/txt");
    }
    uint64_t v;
    sig->timestamp = sig->expiration = -1;
    if ((t = find(tags, n, "t"))) {
        if ((rc = number(t, 12, &v, ei)))
            return rc;
        sig->timestamp = (int64_t)v;
    }
    if ((t = find(tags, n, "x"))) {
        if ((rc = number(t, 12, &v, ei)))
            return rc;
        sig->expiration = (int64_t)v;
        if (sig->timestamp >= 0 && sig->expiration < sig->timestamp)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_NUMBER, t->offset,
                             "x= is before t=");
    }
    rc = MOX_OK;
out:
    mox_buf_free(&buf);
    return rc;
}

int mox_dkim_sig_parse(const char *value, size_t len, mox_dkim_sig **out, mox_errinfo *ei)
{
    if (!out || (!value && len))
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_dkim_sig *sig = mox_calloc(1, sizeof *sig);
    if (!sig)
        return MOX_ERR_NOMEM;
    int rc = sig_parse(sig, value ? value : "", len, ei);
    if (rc) {
        mox_dkim_sig_free(sig);
        return rc;
    }
    *out = sig;
    return MOX_OK;
}

/* ------------------------------------------------------------ keys */

void mox_dkim_key_free(mox_dkim_key *key)
{
    if (!key)
        return;
    if (key->priv_) {
        mbedtls_pk_free(key->priv_);
        mox_free(key->priv_);
    }
    mox_free(key->pubkey);
    mox_free(key);
}

/* Iterates a colon-separated list, calling fn on each trimmed item. */
static void each_item(const moxi_dkim_tag *t, void (*fn)(void *, const char *, size_t), void *arg)
{
    size_t i = 0;
    while (i <= t->value_len) {
        size_t j = i;
        while (j < t->value_len && t->value[j] != ':')
            j++;
        size_t a = skip_fws(t->value, i, j), e = j;
        while (e > a && is_wsp((unsigned char)t->value[e - 1]))
            e--;
        fn(arg, t->value + a, e - a);
        i = j + 1;
    }
}

static void item_hash(void *arg, const char *s, size_t n)
{
    unsigned *h = arg;
    if (n == 4 && moxi_memcaseeq(s, "sha1", 4))
        *h |= MOX_DKIM_HASH_SHA1;
    else if (n == 6 && moxi_memcaseeq(s, "sha256", 6))
        *h |= MOX_DKIM_HASH_SHA256;
}

static void item_service(void *arg, const char *s, size_t n)
{
    int *e = arg;
    if ((n == 1 && s[0] == '*') || (n == 5 && moxi_memcaseeq(s, "email", 5)))
        *e = 1;
}

static void item_flag(void *arg, const char *s, size_t n)
{
    unsigned *f = arg;
    if (n == 1 && (s[0] == 'y' || s[0] == 'Y'))
        *f |= MOX_DKIM_KEY_TESTING;
    else if (n == 1 && (s[0] == 's' || s[0] == 'S'))
        *f |= MOX_DKIM_KEY_STRICT;
}

static int key_parse(mox_dkim_key *key, const char *txt, size_t len, unsigned max_bits,
                     mox_errinfo *ei)
{
    moxi_dkim_tag tags[MAX_TAGS];
    size_t n;
    int rc = moxi_dkim_tags(txt, len, tags, MAX_TAGS, &n, ei);
    if (rc)
        return rc;
    const moxi_dkim_tag *t = find(tags, n, "v");
    if (t && (t != &tags[0] || !(t->value_len == 5 && !memcmp(t->value, "DKIM1", 5))))
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_VERSION, t->offset,
                         t != &tags[0] ? "v= is not the first tag" : "v= is not DKIM1");
    key->type = MOX_DKIM_KEY_RSA;
    if ((t = find(tags, n, "k"))) {
        if (eqi(t, "rsa"))
            key->type = MOX_DKIM_KEY_RSA;
        else if (eqi(t, "ed25519"))
            key->type = MOX_DKIM_KEY_ED25519;
        else
            return moxi_fail(ei, MOX_ERR_UNSUPPORTED, MOX_DKIM_ERR_KEY_TYPE, t->offset,
                             "unsupported key type k=%.*s",
                             (int)(t->value_len > 40 ? 40 : t->value_len), t->value);
    }
    key->hashes = MOX_DKIM_HASH_SHA1 | MOX_DKIM_HASH_SHA256;
    if ((t = find(tags, n, "h"))) {
        key->hashes = 0;
        each_item(t, item_hash, &key->hashes);
    }
    key->email = 1;
    if ((t = find(tags, n, "s"))) {
        key->email = 0;
        each_item(t, item_service, &key->email);
    }
    if ((t = find(tags, n, "t")))
        each_item(t, item_flag, &key->flags);
    if (!(t = find(tags, n, "p")))
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_TAG_MISSING, SIZE_MAX,
                         "missing required tag p=");
    mox_buf buf = MOX_BUF_INIT;
    if ((rc = b64(t, &buf, ei))) {
        mox_buf_free(&buf);
        return rc;
    }
    if (buf.len == 0) {
        mox_buf_free(&buf);
        key->revoked = 1;
        return MOX_OK;
    }
    key->pubkey_len = buf.len;
    key->pubkey = (unsigned char *)mox_buf_steal(&buf, NULL);
    if (!key->pubkey)
        return MOX_ERR_NOMEM;
    if (key->type == MOX_DKIM_KEY_ED25519) {
        if (key->pubkey_len != 32)
            return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_KEY_DATA, t->offset,
                             "ed25519 key of %zu bytes, not 32", key->pubkey_len);
        key->bits = 256;
        return MOX_OK;
    }
    mbedtls_pk_context *pk = mox_malloc(sizeof *pk);
    if (!pk)
        return MOX_ERR_NOMEM;
    mbedtls_pk_init(pk);
    key->priv_ = pk;
    /* Both SubjectPublicKeyInfo and a bare RSAPublicKey are in use. */
    if (mbedtls_pk_parse_public_key(pk, key->pubkey, key->pubkey_len) != 0 ||
        mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA)
        return moxi_fail(ei, MOX_ERR_SYNTAX, MOX_DKIM_ERR_KEY_DATA, t->offset,
                         "p= is not an RSA public key");
    key->bits = (unsigned)mbedtls_pk_get_bitlen(pk);
    if (key->bits > (max_bits ? max_bits : 4096))
        return moxi_fail(ei, MOX_ERR_LIMIT, MOX_DKIM_ERR_KEY_DATA, t->offset,
                         "RSA key of %u bits is larger than %u", key->bits,
                         max_bits ? max_bits : 4096);
    return MOX_OK;
}

int mox_dkim_key_parse(const char *txt, size_t len, unsigned max_rsa_bits, mox_dkim_key **out,
                       mox_errinfo *ei)
{
    if (!out || (!txt && len))
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_dkim_key *key = mox_calloc(1, sizeof *key);
    if (!key)
        return MOX_ERR_NOMEM;
    int rc = key_parse(key, txt ? txt : "", len, max_rsa_bits, ei);
    if (rc) {
        mox_dkim_key_free(key);
        return rc;
    }
    *out = key;
    return MOX_OK;
}
