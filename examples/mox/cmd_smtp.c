/* mox smtp send: deliver one message to its recipients over one connection,
 * driving the sans-I/O smtp_client engine over a real socket (and the TLS
 * adapter for STARTTLS or implicit TLS). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

enum { EXIT_TEMP = 75 };

static const char *usage_text =
    "usage: mox smtp send --server HOST:PORT [--starttls|--tls] [--insecure]\n"
    "                     [--cafile FILE] [--user U --password-file F] [--mechanism M]\n"
    "                     [--allow-plaintext-auth] [--ehlo NAME] [--timeout SEC]\n"
    "                     [--requiretls] [--no-pipelining] [--no-chunking] [--lenient-8bit]\n"
    "                     [--json] [-v] --from ADDR --to ADDR [--to ADDR...] < message\n"
    "\n"
    "Delivers the message on stdin to every recipient over one connection, in as\n"
    "few transactions as the server allows, and prints each recipient's result.\n"
    "Without --starttls/--tls, STARTTLS is used when offered, without verification;\n"
    "with them TLS is required and the certificate verified (system CA bundle or\n"
    "--cafile) unless --insecure. AUTH is never sent without TLS unless\n"
    "--allow-plaintext-auth. --from '' sends the null reverse path. --timeout\n"
    "bounds connecting and the TLS handshake (default 30 s) and, when given, every\n"
    "reply wait (default: the RFC 5321 timeouts).\n"
    "Exit: 0 all accepted; 75 some failed temporarily, none permanently; 1 a\n"
    "permanent failure or the session could not be established; 2 usage.\n";

typedef struct conn {
    int fd;
    mox_tls_socket *tls;
    int64_t connect_timeout_ns;
    int verify; /* MOX_TLS_VERIFY_NONE or _WEBPKI */
} conn;

static int64_t mono(void) { return mox_clock_mono_ns(NULL); }

static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline == INT64_MAX ? -1 : (deadline - mono()) / 1000000;
        if (deadline != INT64_MAX && left < 0)
            return 0;
        struct pollfd p = {fd, ev, 0};
        int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        return n; /* 0: timeout */
    }
}

static int split_hostport(const char *s, char *host, size_t hostsz, char *port, size_t portsz)
{
    const char *colon;
    if (*s == '[') {
        const char *e = strchr(s, ']');
        if (!e || e[1] != ':')
            return -1;
        if ((size_t)(e - s - 1) >= hostsz)
            return -1;
        memcpy(host, s + 1, (size_t)(e - s - 1));
        host[e - s - 1] = 0;
        colon = e + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= hostsz || colon == s)
            return -1;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    if (!colon[1] || strlen(colon + 1) >= portsz)
        return -1;
    strcpy(port, colon + 1);
    return 0;
}

static int dial(const char *host, const char *port, int64_t timeout_ns, char *err, size_t errsz)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0) {
        snprintf(err, errsz, "resolving %s: %s", host, gai_strerror(g));
        return -1;
    }
    int fd = -1;
    snprintf(err, errsz, "no address for %s", host);
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc < 0 && errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, mono() + timeout_ns);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (w <= 0) {
                soerr = w == 0 ? ETIMEDOUT : errno;
            } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
                soerr = errno;
            }
            rc = soerr ? -1 : 0;
            errno = soerr;
        }
        if (rc == 0) {
            err[0] = 0;
            break;
        }
        snprintf(err, errsz, "connecting to %s port %s: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Writes everything the engine has, honouring its deadline. */
static int flush(conn *k, mox_smtp_client *c)
{
    for (;;) {
        const unsigned char *p;
        size_t n;
        mox_smtp_client_output(c, &p, &n);
        if (!n)
            return 0;
        long w;
        if (k->tls) {
            w = (long)mox_tls_socket_write(k->tls, p, n);
            if (w == MOX_ERR_AGAIN) {
                short ev = (mox_tls_socket_wants(k->tls) & MOX_WANT_WRITE) ? POLLOUT : POLLIN;
                int r = wait_fd(k->fd, ev, mox_smtp_client_deadline(c));
                if (r == 0) {
                    mox_smtp_client_timeout(c);
                    return -1;
                }
                continue;
            }
        } else {
            w = send(k->fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
                int r = wait_fd(k->fd, POLLOUT, mox_smtp_client_deadline(c));
                if (r == 0) {
                    mox_smtp_client_timeout(c);
                    return -1;
                }
                continue;
            }
        }
        if (w <= 0) {
            mox_smtp_client_eof(c, MOX_ERR_IO);
            return -1;
        }
        mox_smtp_client_output_done(c, (size_t)w);
    }
}

static int handshake(conn *k, mox_tls_config *tc, const char *host, mox_smtp_client *c,
                     char *err, size_t errsz)
{
    mox_errinfo ei;
    mox_errinfo_clear(&ei);
    mox_tls_request req = MOX_TLS_REQUEST_INIT;
    req.role = MOX_TLS_ROLE_CLIENT;
    req.server_name = host;
    req.verify = k->verify;
    int rc = mox_tls_socket_new(&k->tls, tc, k->fd, &req, &ei);
    int64_t deadline = mono() + k->connect_timeout_ns;
    while (rc == MOX_OK) {
        rc = mox_tls_socket_handshake(k->tls, &ei);
        if (rc != MOX_ERR_AGAIN)
            break;
        short ev = (mox_tls_socket_wants(k->tls) & MOX_WANT_WRITE) ? POLLOUT : POLLIN;
        if (wait_fd(k->fd, ev, deadline) <= 0) {
            snprintf(ei.msg, sizeof ei.msg, "TLS handshake timed out");
            rc = MOX_ERR_TIMEOUT;
        } else {
            rc = MOX_OK;
        }
    }
    if (rc != MOX_OK) {
        snprintf(err, errsz, "%s", ei.msg);
        mox_tls_socket_free(k->tls);
        k->tls = NULL;
        mox_smtp_client_tls_done(c, 0, NULL);
        return -1;
    }
    mox_tls_info ti = MOX_TLS_INFO_INIT;
    mox_tls_get_info(mox_tls_socket_tls(k->tls), &ti);
    mox_smtp_client_tls_info info = MOX_SMTP_CLIENT_TLS_INFO_INIT;
    info.version = ti.version;
    info.cipher = ti.cipher;
    info.tls_unique = ti.tls_unique;
    info.tls_unique_len = ti.tls_unique_len;
    info.tls_exporter = ti.tls_exporter;
    info.tls_exporter_len = ti.tls_exporter_len;
    return mox_smtp_client_tls_done(c, 1, &info) == MOX_OK ? 0 : -1;
}

/* Normalises a --from/--to address: A-label domain when the local part is
 * ASCII (so no SMTPUTF8 is needed for an IDN), else the Unicode form. */
static int norm_addr(const char *in, int reverse, char **out)
{
    if (reverse && (!*in || !strcmp(in, "<>"))) {
        *out = strdup("");
        return *out ? 0 : -1;
    }
    size_t l = strlen(in);
    if (l >= 2 && in[0] == '<' && in[l - 1] == '>')
        in++, l -= 2;
    mox_mailbox m;
    memset(&m, 0, sizeof m);
    mox_errinfo ei;
    if (mox_mailbox_parse(in, l, MOX_PATH_SMTPUTF8, &m, &ei) != MOX_OK) {
        fprintf(stderr, "mox: invalid address '%s': %s\n", in, ei.msg);
        return -1;
    }
    mox_buf b = MOX_BUF_INIT;
    int rc = mox_mailbox_format(&m, !mox_is_ascii(m.localpart, strlen(m.localpart)), &b);
    mox_mailbox_clear(&m);
    if (rc != MOX_OK) {
        mox_buf_free(&b);
        return -1;
    }
    *out = mox_buf_steal(&b, NULL);
    return *out ? 0 : -1;
}

static const char *stage_name(int st)
{
    static const char *const n[] = {"", "connect", "greeting", "ehlo", "starttls", "tls",
                                    "auth", "prepare", "mail", "rcpt", "data", "data-end",
                                    "quit"};
    return st >= 0 && st < (int)(sizeof n / sizeof n[0]) ? n[st] : "";
}

static int run_send(int argc, char **argv)
{
    const char *server = NULL, *user = NULL, *pwfile = NULL, *mechanism = NULL, *from = NULL;
    const char *cafile = NULL, *ehlo = NULL;
    int starttls = 0, implicit = 0, insecure = 0, json = 0, plain_auth = 0, verbose = 0;
    int requiretls = 0;
    unsigned flags = 0;
    double timeout = 30;
    int timeout_set = 0;
    const char **to = calloc((size_t)argc, sizeof *to);
    size_t nto = 0;
    if (!to)
        return tool_err(TOOL_RUNTIME, "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
#define ARG(name, var)                                                          \
    if (!strcmp(a, name)) {                                                     \
        if (!has) {                                                             \
            free(to);                                                           \
            return tool_err(TOOL_USAGE, "%s needs a value\n%s", name, usage_text); \
        }                                                                       \
        var = argv[++i];                                                        \
        continue;                                                               \
    }
        if (tool_is_help(a)) {
            fputs(usage_text, stdout);
            free(to);
            return TOOL_OK;
        }
        ARG("--server", server)
        ARG("--user", user)
        ARG("--password-file", pwfile)
        ARG("--mechanism", mechanism)
        ARG("--from", from)
        ARG("--cafile", cafile)
        ARG("--ehlo", ehlo)
        if (!strcmp(a, "--to") && has) {
            to[nto++] = argv[++i];
            continue;
        }
        if (!strcmp(a, "--timeout") && has) {
            char *e;
            timeout = strtod(argv[++i], &e);
            timeout_set = 1;
            if (*e || timeout <= 0) {
                free(to);
                return tool_err(TOOL_USAGE, "invalid --timeout");
            }
            continue;
        }
        if (!strcmp(a, "--starttls")) starttls = 1;
        else if (!strcmp(a, "--tls")) implicit = 1;
        else if (!strcmp(a, "--insecure")) insecure = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--allow-plaintext-auth")) plain_auth = 1;
        else if (!strcmp(a, "--requiretls")) requiretls = 1;
        else if (!strcmp(a, "--no-pipelining")) flags |= MOX_SMTP_CLIENT_NO_PIPELINING;
        else if (!strcmp(a, "--no-chunking")) flags |= MOX_SMTP_CLIENT_NO_CHUNKING;
        else if (!strcmp(a, "--lenient-8bit")) flags |= MOX_SMTP_CLIENT_LENIENT_8BIT;
        else if (!strcmp(a, "-v")) verbose = 1;
        else {
            free(to);
            return tool_err(TOOL_USAGE, "unknown or incomplete argument '%s'\n%s", a, usage_text);
        }
#undef ARG
    }
    if (!server || !from || nto == 0 || (starttls && implicit) || (!user != !pwfile)) {
        free(to);
        fputs(usage_text, stderr);
        return TOOL_USAGE;
    }
    if (plain_auth)
        flags |= MOX_SMTP_CLIENT_PLAINTEXT_AUTH;
    char host[256], port[32];
    if (split_hostport(server, host, sizeof host, port, sizeof port) != 0) {
        free(to);
        return tool_err(TOOL_USAGE, "--server must be HOST:PORT");
    }
    mox_sasl_mech mech = MOX_SASL_NONE;
    if (mechanism && (mech = mox_sasl_mech_parse(mechanism, strlen(mechanism))) == MOX_SASL_NONE) {
        free(to);
        return tool_err(TOOL_USAGE, "unknown mechanism '%s'", mechanism);
    }

    int ret = TOOL_RUNTIME;
    char *fromn = NULL, **ton = calloc(nto, sizeof *ton), *password = NULL, *msg = NULL;
    mox_buf msgbuf = MOX_BUF_INIT;
    mox_smtp_client_rcpt *rcpts = calloc(nto, sizeof *rcpts);
    mox_tls_config *tc = NULL;
    mox_smtp_client_sasl *sasl = NULL;
    mox_smtp_client *c = NULL;
    conn k = {-1, NULL, (int64_t)(timeout * 1e9), MOX_TLS_VERIFY_NONE};
    char err[512] = "";
    mox_logger lg = MOX_LOGGER_INIT;
    mox_env env = MOX_ENV_INIT;
    mox_sasl_client_config scfg = MOX_SASL_CLIENT_CONFIG_INIT;
    if (!ton || !rcpts) {
        tool_err(TOOL_RUNTIME, "out of memory");
        goto out;
    }
    if (norm_addr(from, 1, &fromn) != 0) {
        ret = TOOL_USAGE;
        goto out;
    }
    for (size_t i = 0; i < nto; i++) {
        if (norm_addr(to[i], 0, &ton[i]) != 0) {
            ret = TOOL_USAGE;
            goto out;
        }
        rcpts[i].address = ton[i];
    }
    if (pwfile) {
        mox_buf pw = MOX_BUF_INIT;
        if (tool_read_file(pwfile, &pw) != TOOL_OK) {
            if (pw.data)
                memset(pw.data, 0, pw.cap);
            mox_buf_free(&pw);
            goto out;
        }
        /* One trailing line ending is not part of the password. */
        if (pw.len && pw.data[pw.len - 1] == '\n')
            pw.data[--pw.len] = 0;
        if (pw.len && pw.data[pw.len - 1] == '\r')
            pw.data[--pw.len] = 0;
        password = mox_buf_steal(&pw, NULL);
        if (!password) {
            tool_err(TOOL_RUNTIME, "out of memory");
            goto out;
        }
        scfg.username = user;
        scfg.password = password;
        if (mech != MOX_SASL_NONE)
            scfg.mechs = MOX_SASL_BIT(mech);
        if (mox_smtp_client_sasl_new(&sasl, &scfg) != MOX_OK) {
            tool_err(TOOL_RUNTIME, "out of memory");
            goto out;
        }
    }
    if (tool_read_file(NULL, &msgbuf) != TOOL_OK)
        goto out;
    msg = (char *)msgbuf.data;
    size_t mlen = msgbuf.len;
    int needs_utf8 = 0;
    mox_errinfo mei;
    if (mox_message_needs_smtputf8(msg, mlen, 0, &needs_utf8, &mei) != MOX_OK)
        needs_utf8 = !mox_is_ascii(msg, mlen); /* unparsable: assume the worst */

    if (verbose) {
        mox_logger_logfmt(&lg, stderr, MOX_LOG_TRACE);
        env.logger = &lg;
    }
    {
        mox_tls_client_options to_opt = MOX_TLS_CLIENT_OPTIONS_INIT;
        to_opt.ca_file = cafile;
        /* Opportunistic STARTTLS is unverified: a certificate problem must
         * not make delivery worse than plaintext would be. */
        to_opt.insecure = insecure || (!starttls && !implicit);
        k.verify = to_opt.insecure ? MOX_TLS_VERIFY_NONE : MOX_TLS_VERIFY_WEBPKI;
        mox_errinfo ei;
        mox_errinfo_clear(&ei);
        if (mox_tls_config_new_client(&tc, &to_opt, &ei) != MOX_OK) {
            tool_err(TOOL_RUNTIME, "TLS setup: %s", ei.msg);
            goto out;
        }
    }
    char hn[256] = "localhost";
    if (!ehlo) {
        if (gethostname(hn, sizeof hn) != 0 || !hn[0])
            strcpy(hn, "localhost");
        hn[sizeof hn - 1] = 0;
        ehlo = hn;
    }
    mox_smtp_client_config cfg = MOX_SMTP_CLIENT_CONFIG_INIT;
    cfg.env = &env;
    cfg.ehlo_name = ehlo;
    cfg.tls_mode = implicit ? MOX_SMTP_CLIENT_TLS_IMPLICIT
                   : starttls ? MOX_SMTP_CLIENT_TLS_REQUIRED
                   : MOX_SMTP_CLIENT_TLS_OPPORTUNISTIC;
    cfg.flags = flags;
    if (timeout_set) {
        /* An explicit --timeout also bounds every reply wait (the RFC 5321
         * values, up to 10 minutes, suit a queue more than a terminal). */
        uint32_t ms = timeout * 1000 > 600000 ? 600000 : (uint32_t)(timeout * 1000);
        cfg.timeout_greeting_ms = cfg.timeout_command_ms = cfg.timeout_data_init_ms = ms;
        cfg.timeout_data_block_ms = cfg.timeout_data_end_ms = ms;
    }
    cfg.auth = sasl ? mox_smtp_client_sasl_auth(sasl) : NULL;
    mox_errinfo cei;
    if (mox_smtp_client_new(&c, &cfg, &cei) != MOX_OK) {
        tool_err(TOOL_USAGE, "%s", cei.msg);
        ret = TOOL_USAGE;
        goto out;
    }
    mox_smtp_client_message m = MOX_SMTP_CLIENT_MESSAGE_INIT;
    m.from = fromn;
    m.rcpts = rcpts;
    m.nrcpts = nto;
    m.data = msg;
    m.len = mlen;
    m.flags = (needs_utf8 ? MOX_SMTP_CLIENT_MSG_SMTPUTF8 : 0) | (requiretls ? MOX_SMTP_CLIENT_MSG_REQUIRETLS : 0);
    if (mox_smtp_client_submit(c, &m, &cei) != MOX_OK) {
        tool_err(TOOL_USAGE, "%s", cei.msg);
        ret = TOOL_USAGE;
        goto out;
    }

    k.fd = dial(host, port, k.connect_timeout_ns, err, sizeof err);
    if (k.fd < 0) {
        mox_smtp_client_eof(c, MOX_ERR_IO);
    } else if (implicit && handshake(&k, tc, host, c, err, sizeof err) != 0) {
        /* engine closed by tls_done(0) */
    }
    int quit_sent = 0;
    unsigned char rbuf[16384];
    while (mox_smtp_client_state(c) != MOX_SMTP_CLIENT_CLOSED || 0) {
        if (flush(&k, c) != 0)
            continue;
        int st = mox_smtp_client_state(c);
        if (st == MOX_SMTP_CLIENT_CLOSED)
            break;
        if (st == MOX_SMTP_CLIENT_STARTTLS) {
            if (!tc) {
                mox_smtp_client_tls_done(c, 0, NULL);
                continue;
            }
            handshake(&k, tc, host, c, err, sizeof err);
            continue;
        }
        if (st == MOX_SMTP_CLIENT_READY && !quit_sent) {
            quit_sent = 1;
            mox_smtp_client_quit(c);
            continue;
        }
        if (!(k.tls && mox_tls_socket_pending(k.tls))) {
            short ev = POLLIN;
            if (k.tls && (mox_tls_socket_wants(k.tls) & MOX_WANT_WRITE))
                ev = POLLOUT;
            int r = wait_fd(k.fd, ev, mox_smtp_client_deadline(c));
            if (r == 0) {
                mox_smtp_client_timeout(c);
                continue;
            }
            if (r < 0) {
                mox_smtp_client_eof(c, MOX_ERR_IO);
                continue;
            }
        }
        long n = k.tls ? (long)mox_tls_socket_read(k.tls, rbuf, sizeof rbuf)
                       : recv(k.fd, rbuf, sizeof rbuf, 0);
        if (!k.tls && n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k.tls && n == MOX_ERR_AGAIN)
            continue;
        if (n <= 0) {
            mox_smtp_client_eof(c, n < 0 ? MOX_ERR_IO : 0);
            continue;
        }
        if (mox_smtp_client_feed(c, rbuf, (size_t)n) < 0)
            continue;
    }
    if (k.tls)
        mox_tls_socket_close(k.tls);

    const mox_smtp_client_delivery *d = mox_smtp_client_get_delivery(c);
    const mox_smtp_client_outcome *fail = mox_smtp_client_failure(c);
    /* The session could not be established: nothing was tried. */
    int session_failed = fail && (!fail->temporary || fail->stage == MOX_SMTP_CLIENT_STAGE_CONNECT ||
                                  fail->stage == MOX_SMTP_CLIENT_STAGE_TLS ||
                                  fail->stage == MOX_SMTP_CLIENT_STAGE_STARTTLS ||
                                  fail->stage == MOX_SMTP_CLIENT_STAGE_AUTH);
    char failtext[800] = "";
    if (fail)
        snprintf(failtext, sizeof failtext, "%s%s%s", fail->text, err[0] ? ": " : "", err);
    else if (err[0])
        snprintf(failtext, sizeof failtext, "%s", err);
    if (json) {
        tool_json j;
        tool_json_init(&j);
        tool_json_obj_begin(&j);
        tool_json_key(&j, "recipients");
        tool_json_arr_begin(&j);
        for (size_t i = 0; d && i < d->nrcpts; i++) {
            const mox_smtp_client_rcpt_result *r = &d->rcpts[i];
            tool_json_obj_begin(&j);
            tool_json_key(&j, "address");
            tool_json_str(&j, to[i]);
            tool_json_key(&j, "accepted");
            tool_json_bool(&j, r->accepted);
            tool_json_key(&j, "code");
            tool_json_int(&j, r->outcome.code);
            tool_json_key(&j, "enhanced");
            if (r->outcome.enhanced[0])
                tool_json_str(&j, r->outcome.enhanced);
            else
                tool_json_null(&j);
            tool_json_key(&j, "text");
            tool_json_strn(&j, r->outcome.text, strlen(r->outcome.text));
            tool_json_key(&j, "temporary");
            tool_json_bool(&j, !r->accepted && r->outcome.temporary);
            tool_json_obj_end(&j);
        }
        tool_json_arr_end(&j);
        tool_json_key(&j, "error");
        if (failtext[0])
            tool_json_str(&j, failtext);
        else
            tool_json_null(&j);
        tool_json_obj_end(&j);
        if (tool_json_print(&j, stdout) != TOOL_OK)
            goto out;
    } else {
        for (size_t i = 0; d && i < d->nrcpts; i++) {
            const mox_smtp_client_rcpt_result *r = &d->rcpts[i];
            printf("%s: %s %d%s%s %s\n", to[i],
                   r->accepted ? "accepted"
                   : r->outcome.temporary ? "failed temporarily"
                                          : "failed permanently",
                   r->outcome.code, r->outcome.enhanced[0] ? " " : "", r->outcome.enhanced,
                   r->outcome.text);
        }
        if (failtext[0])
            fprintf(stderr, "mox: smtp session: %s (at %s)\n", failtext,
                    fail ? stage_name(fail->stage) : "connect");
    }
    if (d && d->naccepted == d->nrcpts && !session_failed)
        ret = TOOL_OK;
    else if (d && d->npermanent == 0 && !session_failed)
        ret = EXIT_TEMP;
    else
        ret = TOOL_RUNTIME;
out:
    mox_smtp_client_free(c);
    mox_smtp_client_sasl_free(sasl);
    mox_tls_socket_free(k.tls);
    mox_tls_config_free(tc);
    if (k.fd >= 0)
        close(k.fd);
    if (password) {
        memset(password, 0, strlen(password));
        mox_free(password);
    }
    mox_free(fromn);
    for (size_t i = 0; ton && i < nto; i++)
        mox_free(ton[i]);
    free(ton);
    free(rcpts);
    mox_buf_free(&msgbuf);
    free(to);
    return ret;
}

static const struct tool_cmd cmd_send = {"send", "deliver a message over SMTP", run_send};
static const struct tool_cmd *const smtp_cmds[] = {&cmd_send, NULL};

static int run(int argc, char **argv)
{
    return tool_dispatch("mox smtp", smtp_cmds, argc, argv);
}

const struct tool_cmd tool_cmd_smtp = {"smtp", "SMTP client (delivery, submission)", run};
