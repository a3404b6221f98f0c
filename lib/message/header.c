/* Streaming RFC 5322 header section parser.
 *
 * The parser keeps the raw bytes of the field being read in one growable
 * buffer (a field may span many feeds) and hands the callback pointers into
 * it. A field is only known to be complete when the first byte of the next
 * line is not whitespace, so reporting lags by one byte; that lag is the
 * same whatever the chunking, which keeps byte-by-byte and one-shot feeding
 * identical. */
#include <string.h>

#include "message_priv.h"

enum {
    ST_START,    /* at the start of a line */
    ST_NAME,     /* in a field name */
    ST_NAME_WS,  /* whitespace after a field name, before the colon */
    ST_VALUE,    /* after the colon, or in a continuation line */
    ST_CR,       /* a CR was seen in a line; is it followed by LF? */
    ST_BLANK_CR, /* a line started with CR: empty line if LF follows */
    ST_DONE,
    ST_ERR
};

struct mox_header_parser {
    mox_header_config cfg;
    mox_header_field_cb cb;
    void *ctx;
    mox_buf raw;       /* bytes of the current field (or non-field line) */
    mox_buf val;       /* unfolded value scratch */
    int st;
    int cr_from;       /* state a pending CR interrupted */
    size_t total;      /* stream bytes consumed */
    size_t cr_off;     /* stream offset of a pending CR */
    size_t line_len;   /* content bytes in the current line */
    size_t field_off;  /* stream offset of the current field */
    size_t name_end;   /* end of the name in raw */
    size_t value_start;/* first byte after the colon in raw */
    size_t nfields;
    unsigned fflags;
    int have_field;
    unsigned u8need;   /* UTF-8 continuation bytes still expected */
    unsigned char u8lo, u8hi;
    int err;
    mox_errinfo ei;
    mox_hdr_end end;
    size_t body_off;
};

/* Bytes that leave the fast path of a value: line endings, NUL and 8-bit
 * bytes (flags, UTF-8 checking). */
static inline int value_stop(unsigned char c)
{
    return c >= 0x80 || (c <= '\r' && (c == '\r' || c == '\n' || c == 0));
}

int moxi_message_header_config(mox_header_config *dst,
                               const mox_header_config *src)
{
    mox_header_config d = MOX_HEADER_CONFIG_INIT;
    if (src) {
        size_t n = src->size < sizeof d ? src->size : sizeof d;
        if (n < sizeof(size_t))
            return MOX_ERR_INVAL;
        memcpy(&d, src, n);
        d.size = sizeof d;
    }
    if (d.bare_cr < MOX_EOL_REJECT || d.bare_cr > MOX_EOL_NORMALIZE ||
        d.bare_lf < MOX_EOL_REJECT || d.bare_lf > MOX_EOL_NORMALIZE ||
        (d.nonfield != MOX_HDR_NONFIELD_ERROR && d.nonfield != MOX_HDR_NONFIELD_END))
        return MOX_ERR_INVAL;
    *dst = d;
    return MOX_OK;
}

int mox_header_parser_new(mox_header_parser **out, const mox_header_config *cfg,
                          mox_header_field_cb cb, void *ctx)
{
    if (!out)
        return MOX_ERR_INVAL;
    *out = NULL;
    mox_header_config c;
    int rc = moxi_message_header_config(&c, cfg);
    if (rc)
        return rc;
    mox_header_parser *p = mox_calloc(1, sizeof *p);
    if (!p)
        return MOX_ERR_NOMEM;
    p->cfg = c;
    p->cb = cb;
    p->ctx = ctx;
    mox_header_parser_reset(p);
    *out = p;
    return MOX_OK;
}

void mox_header_parser_free(mox_header_parser *p)
{
    if (!p)
        return;
    mox_buf_free(&p->raw);
    mox_buf_free(&p->val);
    mox_free(p);
}

void mox_header_parser_reset(mox_header_parser *p)
{
    if (!p)
        return;
    mox_buf_reset(&p->raw);
    mox_buf_reset(&p->val);
    p->st = ST_START;
    p->cr_from = ST_START;
    p->total = 0;
    p->cr_off = 0;
    p->line_len = 0;
    p->field_off = 0;
    p->name_end = 0;
    p->value_start = 0;
    p->nfields = 0;
    p->fflags = 0;
    p->have_field = 0;
    p->u8need = 0;
    p->u8lo = 0x80;
    p->u8hi = 0xbf;
    p->err = MOX_OK;
    mox_errinfo_clear(&p->ei);
    p->end = MOX_HDR_END_NONE;
    p->body_off = 0;
}

static int copy_err(const mox_header_parser *p, mox_errinfo *ei)
{
    if (ei)
        *ei = p->ei;
    return p->err;
}

static int fail(mox_header_parser *p, int code, int detail, size_t off,
                const char *msg)
{
    moxi_fail(&p->ei, code, detail, off, "%s", msg);
    p->err = code;
    p->st = ST_ERR;
    return code;
}

/* Appends line content, enforcing the line-length limit; `off` is the
 * stream offset of s[0]. */
static int add_content(mox_header_parser *p, const void *s, size_t n, size_t off)
{
    size_t max = p->cfg.max_line;
    if (max && n > max - p->line_len)
        return fail(p, MOX_ERR_LIMIT, MOX_HDR_ERR_LINE_TOO_LONG,
                    off + (max - p->line_len), "header line too long");
    if (mox_buf_append(&p->raw, s, n))
        return fail(p, MOX_ERR_NOMEM, 0, off, "out of memory");
    p->line_len += n;
    return MOX_OK;
}

static int add_raw(mox_header_parser *p, const char *s, size_t n, size_t off)
{
    if (mox_buf_append(&p->raw, s, n))
        return fail(p, MOX_ERR_NOMEM, 0, off, "out of memory");
    return MOX_OK;
}

static void end_section(mox_header_parser *p, mox_hdr_end end, size_t body_off)
{
    p->end = end;
    p->body_off = body_off;
    p->st = ST_DONE;
}

/* A line that is not a field. Under the END policy the body starts at
 * `line_off`, and raw (truncated to the bytes of that line consumed so far,
 * plus `extra` as received) becomes the leftover. */
static int nonfield(mox_header_parser *p, int detail, size_t off, size_t line_off,
                    const char *extra, size_t extra_len, const char *msg)
{
    if (p->cfg.nonfield == MOX_HDR_NONFIELD_ERROR)
        return fail(p, MOX_ERR_SYNTAX, detail, off, msg);
    if (extra_len && add_raw(p, extra, extra_len, off))
        return p->err;
    end_section(p, MOX_HDR_END_NONFIELD, line_off);
    return 1;
}

/* Unfolds raw[value_start..] into p->val: a line ending followed by more
 * bytes is a fold and disappears; the final one is not part of the value.
 * In raw, "\r\n" and a lone "\n" are always line endings and a lone "\r"
 * is always data (see the bare-CR policies). */
static int unfold(mox_header_parser *p)
{
    const unsigned char *s = p->raw.data + p->value_start;
    size_t n = p->raw.len - p->value_start;
    mox_buf_reset(&p->val);
    if (mox_buf_reserve(&p->val, n))
        return MOX_ERR_NOMEM;
    unsigned char *o = p->val.data;
    size_t k = 0, olen = 0;
    while (k < n) {
        const unsigned char *nl = memchr(s + k, '\n', n - k);
        size_t stop = nl ? (size_t)(nl - s) : n;
        size_t seg = stop - k;
        if (nl && seg > 0 && s[stop - 1] == '\r')
            seg--;
        memcpy(o + olen, s + k, seg);
        olen += seg;
        k = nl ? stop + 1 : n;
    }
    size_t a = 0;
    while (a < olen && moxi_message_is_wsp(o[a]))
        a++;
    while (olen > a && moxi_message_is_wsp(o[olen - 1]))
        olen--;
    if (a)
        memmove(o, o + a, olen - a);
    p->val.len = olen - a;
    o[p->val.len] = 0;
    return MOX_OK;
}

static int emit_pending(mox_header_parser *p)
{
    if (!p->have_field)
        return MOX_OK;
    p->have_field = 0;
    if (unfold(p))
        return fail(p, MOX_ERR_NOMEM, 0, p->field_off, "out of memory");
    mox_header_field f;
    f.name = (const char *)p->raw.data;
    f.name_len = p->name_end;
    f.value = (const char *)p->val.data;
    f.value_len = p->val.len;
    f.raw = (const char *)p->raw.data;
    f.raw_len = p->raw.len;
    f.offset = p->field_off;
    f.index = p->nfields++;
    f.flags = p->fflags;
    if (p->cb) {
        int rc = p->cb(p->ctx, &f);
        if (rc) {
            if (rc > 0)
                rc = MOX_ERR_INVAL;
            return fail(p, rc, MOX_HDR_ERR_CALLBACK, p->field_off,
                        "header field callback stopped the parse");
        }
    }
    return MOX_OK;
}

static int end_line(mox_header_parser *p, const char *eol, size_t n, size_t off)
{
    if (add_raw(p, eol, n, off))
        return p->err;
    p->line_len = 0;
    p->st = ST_START;
    return MOX_OK;
}

static int start_field(mox_header_parser *p, size_t off)
{
    mox_buf_reset(&p->raw);
    p->line_len = 0;
    p->field_off = off;
    p->name_end = 0;
    p->value_start = 0;
    p->fflags = 0;
    p->st = ST_NAME;
    return MOX_OK;
}

static int colon(mox_header_parser *p, size_t off)
{
    if (p->cfg.max_fields && p->nfields >= p->cfg.max_fields)
        return fail(p, MOX_ERR_LIMIT, MOX_HDR_ERR_TOO_MANY_FIELDS, p->field_off,
                    "too many header fields");
    if (p->st == ST_NAME)
        p->name_end = p->raw.len;
    if (add_content(p, ":", 1, off))
        return p->err;
    p->value_start = p->raw.len;
    p->have_field = 1;
    p->st = ST_VALUE;
    return MOX_OK;
}

/* Checks one byte >= 0x80, NUL, or any byte while a UTF-8 sequence is
 * pending, in a value. */
static int check_byte(mox_header_parser *p, unsigned char c, size_t off)
{
    unsigned fl = p->cfg.flags;
    if (c == 0 && (fl & MOX_HDR_REJECT_NUL))
        return fail(p, MOX_ERR_SYNTAX, MOX_HDR_ERR_NUL, off, "NUL byte in header");
    if (c >= 0x80) {
        p->fflags |= MOX_HDR_FIELD_8BIT;
        if (fl & MOX_HDR_ASCII_ONLY)
            return fail(p, MOX_ERR_SYNTAX, MOX_HDR_ERR_8BIT, off,
                        "8-bit byte in header");
    }
    if (!(fl & MOX_HDR_REQUIRE_UTF8))
        return MOX_OK;
    if (p->u8need) {
        if (c < p->u8lo || c > p->u8hi)
            return fail(p, MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, off,
                        "invalid UTF-8 in header");
        p->u8need--;
        p->u8lo = 0x80;
        p->u8hi = 0xbf;
        return MOX_OK;
    }
    if (c < 0x80)
        return MOX_OK;
    if (c >= 0xc2 && c <= 0xdf)
        p->u8need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
        p->u8need = 2;
        if (c == 0xe0)
            p->u8lo = 0xa0;
        else if (c == 0xed)
            p->u8hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        p->u8need = 3;
        if (c == 0xf0)
            p->u8lo = 0x90;
        else if (c == 0xf4)
            p->u8hi = 0x8f;
    } else
        return fail(p, MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, off, "invalid UTF-8 in header");
    return MOX_OK;
}

static int utf8_at_eol(mox_header_parser *p, size_t off)
{
    if (p->u8need)
        return fail(p, MOX_ERR_UTF8, MOX_HDR_ERR_UTF8, off,
                    "truncated UTF-8 sequence in header");
    return MOX_OK;
}

static int bare_lf_refused(mox_header_parser *p, size_t off)
{
    if (p->cfg.bare_lf == MOX_EOL_REJECT)
        return fail(p, MOX_ERR_SYNTAX, MOX_HDR_ERR_BARE_LF, off, "bare LF in header");
    return MOX_OK;
}

static int lf_eol(mox_header_parser *p, size_t off)
{
    if (p->cfg.bare_lf == MOX_EOL_NORMALIZE)
        return end_line(p, "\r\n", 2, off);
    return end_line(p, "\n", 1, off);
}

/* Resolves a pending CR that is not followed by LF (`off` is where the
 * next byte would be). Returns MOX_OK with the state set so that the next
 * byte is processed anew, 1 when the section ended, or an error. */
static int bare_cr(mox_header_parser *p)
{
    int pol = p->cfg.bare_cr;
    if (pol == MOX_EOL_REJECT)
        return fail(p, MOX_ERR_SYNTAX, MOX_HDR_ERR_BARE_CR, p->cr_off,
                    "bare CR in header");
    if (p->st == ST_BLANK_CR) {
        if (emit_pending(p))
            return p->err;
        if (pol == MOX_EOL_NORMALIZE) {
            end_section(p, MOX_HDR_END_EMPTY_LINE, p->cr_off + 1);
            return 1;
        }
        mox_buf_reset(&p->raw);
        return nonfield(p, MOX_HDR_ERR_BAD_NAME, p->cr_off, p->cr_off, "\r", 1,
                        "control character at the start of a header line");
    }
    /* ST_CR */
    if (p->cr_from == ST_VALUE) {
        if (pol == MOX_EOL_NORMALIZE)
            return end_line(p, "\r\n", 2, p->cr_off);
        p->st = ST_VALUE;
        return add_content(p, "\r", 1, p->cr_off);
    }
    if (pol == MOX_EOL_NORMALIZE)
        return nonfield(p, MOX_HDR_ERR_NO_COLON, p->cr_off, p->field_off, "\r", 1,
                        "header line without colon");
    return nonfield(p, MOX_HDR_ERR_BAD_NAME, p->cr_off, p->field_off, "\r", 1,
                    "control character in header field name");
}

/* ftext (RFC 5322 §3.6.8): printable ASCII except colon. */
static inline int is_ftext(unsigned char c) { return c >= 33 && c <= 126 && c != ':'; }

int mox_header_parser_feed(mox_header_parser *p, const void *data, size_t len,
                           size_t *consumed, mox_errinfo *ei)
{
    if (consumed)
        *consumed = 0;
    if (!p || (!data && len))
        return MOX_ERR_INVAL;
    if (p->st == ST_ERR)
        return copy_err(p, ei);
    if (p->st == ST_DONE)
        return MOX_OK;
    const unsigned char *d = data;
    size_t avail = len;
    int capped = 0;
    if (p->cfg.max_header_size) {
        size_t room = p->cfg.max_header_size - p->total;
        if (avail > room) {
            avail = room;
            capped = 1;
        }
    }
    const size_t base = p->total;
    size_t i = 0;
    int rc = 0;
    while (i < avail && rc == 0) {
        unsigned char c = d[i];
        size_t off = base + i;
        switch (p->st) {
        case ST_START:
            if (c == '\r') {
                p->cr_off = off;
                p->st = ST_BLANK_CR;
                i++;
            } else if (c == '\n') {
                if ((rc = bare_lf_refused(p, off)))
                    break;
                i++;
                if ((rc = emit_pending(p)))
                    break;
                end_section(p, MOX_HDR_END_EMPTY_LINE, off + 1);
                rc = 1;
            } else if (moxi_message_is_wsp(c)) {
                if (!p->have_field) {
                    mox_buf_reset(&p->raw);
                    rc = nonfield(p, MOX_HDR_ERR_CONTINUATION, off, off, NULL, 0,
                                  "continuation line before any header field");
                    break;
                }
                p->fflags |= MOX_HDR_FIELD_FOLDED;
                p->st = ST_VALUE;
            } else {
                if ((rc = emit_pending(p)))
                    break;
                rc = start_field(p, off);
            }
            break;
        case ST_NAME:
            if (is_ftext(c)) {
                size_t j = i + 1;
                while (j < avail && is_ftext(d[j]))
                    j++;
                rc = add_content(p, d + i, j - i, off);
                i = j;
            } else if (c == ':') {
                if (p->raw.len == 0) {
                    rc = nonfield(p, MOX_HDR_ERR_EMPTY_NAME, off, p->field_off, NULL,
                                  0, "empty header field name");
                    break;
                }
                if (!(rc = colon(p, off)))
                    i++;
            } else if (moxi_message_is_wsp(c)) {
                p->name_end = p->raw.len;
                if (!(rc = add_content(p, d + i, 1, off))) {
                    p->st = ST_NAME_WS;
                    i++;
                }
            } else if (c == '\r') {
                p->cr_off = off;
                p->cr_from = ST_NAME;
                p->st = ST_CR;
                i++;
            } else if (c == '\n') {
                if ((rc = bare_lf_refused(p, off)))
                    break;
                i++;
                rc = nonfield(p, MOX_HDR_ERR_NO_COLON, off, p->field_off, "\n", 1,
                              "header line without colon");
            } else {
                rc = nonfield(p, MOX_HDR_ERR_BAD_NAME, off, p->field_off, NULL, 0,
                              "invalid byte in header field name");
            }
            break;
        case ST_NAME_WS:
            if (moxi_message_is_wsp(c)) {
                if (!(rc = add_content(p, d + i, 1, off)))
                    i++;
            } else if (c == ':') {
                p->fflags |= MOX_HDR_FIELD_OBS_WS;
                if (!(rc = colon(p, off)))
                    i++;
            } else if (c == '\r') {
                p->cr_off = off;
                p->cr_from = ST_NAME_WS;
                p->st = ST_CR;
                i++;
            } else if (c == '\n') {
                if ((rc = bare_lf_refused(p, off)))
                    break;
                i++;
                rc = nonfield(p, MOX_HDR_ERR_NO_COLON, off, p->field_off, "\n", 1,
                              "header line without colon");
            } else {
                rc = nonfield(p, MOX_HDR_ERR_BAD_NAME, off, p->field_off, NULL, 0,
                              "whitespace inside header field name");
            }
            break;
        case ST_VALUE:
            if (!value_stop(c) && !p->u8need) {
                size_t j = i + 1;
                while (j < avail && !value_stop(d[j]))
                    j++;
                rc = add_content(p, d + i, j - i, off);
                i = j;
            } else if (c == '\r') {
                if ((rc = utf8_at_eol(p, off)))
                    break;
                p->cr_off = off;
                p->cr_from = ST_VALUE;
                p->st = ST_CR;
                i++;
            } else if (c == '\n') {
                if ((rc = bare_lf_refused(p, off)) || (rc = utf8_at_eol(p, off)))
                    break;
                i++;
                rc = lf_eol(p, off);
            } else {
                if ((rc = check_byte(p, c, off)) || (rc = add_content(p, d + i, 1, off)))
                    break;
                i++;
            }
            break;
        case ST_CR:
            if (c == '\n') {
                i++;
                if (p->cr_from == ST_VALUE)
                    rc = end_line(p, "\r\n", 2, off);
                else
                    rc = nonfield(p, MOX_HDR_ERR_NO_COLON, p->cr_off, p->field_off,
                                  "\r\n", 2, "header line without colon");
            } else {
                rc = bare_cr(p);
            }
            break;
        case ST_BLANK_CR:
            if (c == '\n') {
                i++;
                if ((rc = emit_pending(p)))
                    break;
                end_section(p, MOX_HDR_END_EMPTY_LINE, off + 1);
                rc = 1;
            } else {
                rc = bare_cr(p);
            }
            break;
        default:
            rc = 1;
            break;
        }
    }
    p->total = base + i;
    if (consumed)
        *consumed = i;
    if (p->st == ST_ERR)
        return copy_err(p, ei);
    if (p->st != ST_DONE && capped) {
        fail(p, MOX_ERR_LIMIT, MOX_HDR_ERR_TOO_BIG, p->total, "header section too large");
        return copy_err(p, ei);
    }
    return MOX_OK;
}

int mox_header_parser_finish(mox_header_parser *p, mox_errinfo *ei)
{
    if (!p)
        return MOX_ERR_INVAL;
    if (p->st == ST_ERR)
        return copy_err(p, ei);
    if (p->st == ST_DONE)
        return MOX_OK;
    int rc = 0;
    switch (p->st) {
    case ST_CR:
    case ST_BLANK_CR:
        rc = bare_cr(p);
        if (rc)
            break;
        /* A CR taken as data or as a line ending: resolve what is left. */
        if (p->st == ST_VALUE)
            p->fflags |= MOX_HDR_FIELD_NO_EOL;
        if ((rc = emit_pending(p)))
            break;
        end_section(p, MOX_HDR_END_EOF, p->total);
        break;
    case ST_START:
        if ((rc = emit_pending(p)))
            break;
        end_section(p, MOX_HDR_END_EOF, p->total);
        break;
    case ST_NAME:
    case ST_NAME_WS:
        rc = nonfield(p, MOX_HDR_ERR_NO_COLON, p->total, p->field_off, NULL, 0,
                      "header line without colon at end of input");
        break;
    case ST_VALUE:
        if ((rc = utf8_at_eol(p, p->total)))
            break;
        p->fflags |= MOX_HDR_FIELD_NO_EOL;
        if ((rc = emit_pending(p)))
            break;
        end_section(p, MOX_HDR_END_EOF, p->total);
        break;
    default:
        break;
    }
    if (p->st == ST_ERR)
        return copy_err(p, ei);
    return MOX_OK;
}

mox_hdr_end mox_header_parser_end(const mox_header_parser *p)
{
    return p ? p->end : MOX_HDR_END_NONE;
}

size_t mox_header_parser_body_offset(const mox_header_parser *p)
{
    return p ? p->body_off : 0;
}

void mox_header_parser_leftover(const mox_header_parser *p, const char **data,
                                size_t *len)
{
    if (p && p->end == MOX_HDR_END_NONFIELD) {
        *data = (const char *)p->raw.data;
        *len = p->raw.len;
    } else {
        *data = "";
        *len = 0;
    }
}

size_t mox_header_parser_count(const mox_header_parser *p)
{
    return p ? p->nfields : 0;
}
