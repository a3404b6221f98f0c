/* mox queue: look at and manage a queue store (SQLite file or PostgreSQL)
 * through the library's queue API. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

static const char store_usage[] =
    "The store is --store PATH (a SQLite queue file) or --store postgresql://...\n"
    "(or MOX_QUEUE_STORE in the environment).\n";

struct qopts {
    const char *store;
    int json, retired, all, now;
    mox_queue_filter f;
    int64_t ids[64];
};

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == 0 || *end || v <= 0)
        return 0;
    *out = v;
    return 1;
}

/* Common options; positional recipient ids go into the filter. Returns
 * TOOL_OK, or TOOL_USAGE after printing `usage`. `*help` set for --help. */
static int parse_opts(int argc, char **argv, const char *usage, struct qopts *o, int *help,
                      int ids_allowed)
{
    memset(o, 0, sizeof *o);
    mox_queue_filter f = MOX_QUEUE_FILTER_INIT;
    o->f = f;
    o->store = getenv("MOX_QUEUE_STORE");
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (tool_is_help(a)) {
            fputs(usage, stdout);
            fputs(store_usage, stdout);
            *help = 1;
            return TOOL_OK;
        } else if (!strcmp(a, "--store") && i + 1 < argc) {
            o->store = argv[++i];
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--retired")) {
            o->retired = 1;
        } else if (!strcmp(a, "--all")) {
            o->all = 1;
        } else if (!strcmp(a, "--now")) {
            o->now = 1;
        } else if (!strcmp(a, "--account") && i + 1 < argc) {
            o->f.account = argv[++i];
        } else if (!strcmp(a, "--domain") && i + 1 < argc) {
            o->f.rcpt_domain = argv[++i];
        } else if (!strcmp(a, "--from-domain") && i + 1 < argc) {
            o->f.from_domain = argv[++i];
        } else if (!strcmp(a, "--msg") && i + 1 < argc) {
            if (!parse_id(argv[++i], &o->f.msg_id))
                goto bad;
        } else if (!strcmp(a, "--held")) {
            o->f.held = 1;
        } else if (ids_allowed && !tool_is_option(a) && o->f.nids < 64 &&
                   parse_id(a, &o->ids[o->f.nids])) {
            o->f.nids++;
            o->f.ids = o->ids;
        } else {
            goto bad;
        }
    }
    return TOOL_OK;
bad:
    fputs(usage, stderr);
    fputs(store_usage, stderr);
    return TOOL_USAGE;
}

static int open_queue(const char *spec, mox_queue_store **st, mox_queue **q)
{
    if (!spec || !*spec)
        return tool_err(TOOL_USAGE, "no store: give --store PATH or --store postgresql://...");
    mox_errinfo ei;
    int rc;
    if (!strncmp(spec, "postgresql://", 13) || !strncmp(spec, "postgres://", 11))
        rc = mox_queue_store_pg_open(st, spec, NULL, &ei);
    else {
        mox_queue_sqlite_config c = MOX_QUEUE_SQLITE_CONFIG_INIT;
        /* the tool runs beside a daemon: never take over its leases */
        c.flags = MOX_QUEUE_SQLITE_NO_TAKEOVER;
        rc = mox_queue_store_sqlite_open(st, spec, &c, &ei);
    }
    if (rc)
        return tool_err(TOOL_RUNTIME, "%s", ei.msg);
    rc = mox_queue_new(q, NULL, *st, &ei);
    if (rc) {
        mox_queue_store_close(*st);
        return tool_err(TOOL_RUNTIME, "%s", ei.msg);
    }
    return TOOL_OK;
}

static void close_queue(mox_queue_store *st, mox_queue *q)
{
    mox_queue_free(q);
    mox_queue_store_close(st);
}

static void rfc3339(int64_t ms, char *out, size_t cap)
{
    if (ms <= 0) {
        snprintf(out, cap, "%s", "");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct lister {
    tool_json j;
    int json;
    size_t n;
};

static int list_row(void *ctx, const mox_queue_msg *m, const mox_queue_rcpt *r)
{
    struct lister *l = ctx;
    char next[40], last[40];
    rfc3339(r->next_attempt_ms, next, sizeof next);
    rfc3339(r->last_attempt_ms, last, sizeof last);
    char result[600] = "";
    if (r->last_code || r->last_text)
        snprintf(result, sizeof result, "%d%s%s %s", r->last_code, r->last_enhanced ? " " : "",
                 r->last_enhanced ? r->last_enhanced : "", r->last_text ? r->last_text : "");
    l->n++;
    if (!l->json) {
        printf("%lld base %lld %s <%s> -> <%s> attempts %d next %s%s%s%s%s\n", (long long)r->id,
               (long long)m->id, m->account, m->mail_from, r->address, r->attempts, next,
               r->held ? " held" : "", r->lease_owner ? " running on " : "",
               r->lease_owner ? r->lease_owner : "", result[0] ? "" : "");
        if (result[0])
            printf("    last: %s\n", result);
        return 0;
    }
    tool_json *j = &l->j;
    tool_json_obj_begin(j);
    tool_json_key(j, "id");
    tool_json_int(j, r->id);
    tool_json_key(j, "base_id");
    tool_json_int(j, m->id);
    tool_json_key(j, "account");
    tool_json_str(j, m->account);
    tool_json_key(j, "from");
    tool_json_str(j, m->mail_from);
    tool_json_key(j, "to");
    tool_json_str(j, r->address);
    tool_json_key(j, "destination");
    tool_json_str(j, r->domain);
    tool_json_key(j, "attempts");
    tool_json_int(j, r->attempts);
    tool_json_key(j, "next_attempt");
    tool_json_str(j, next[0] ? next : NULL);
    tool_json_key(j, "last_attempt");
    tool_json_str(j, last[0] ? last : NULL);
    tool_json_key(j, "last_result");
    tool_json_str(j, result[0] ? result : NULL);
    tool_json_key(j, "hold");
    tool_json_bool(j, r->held);
    tool_json_key(j, "fromid");
    tool_json_str(j, m->fromid);
    tool_json_obj_end(j);
    return 0;
}

static const char *outcome_name(int o)
{
    return o == MOX_QUEUE_OUTCOME_DELIVERED ? "delivered"
           : o == MOX_QUEUE_OUTCOME_FAILED  ? "failed"
                                            : "canceled";
}

static int retired_row(void *ctx, const mox_queue_retired *t)
{
    struct lister *l = ctx;
    char when[40];
    rfc3339(t->retired_ms, when, sizeof when);
    l->n++;
    if (!l->json) {
        printf("%lld base %lld %s <%s> -> <%s> %s %s after %d attempts: %d %s %s\n",
               (long long)t->id, (long long)t->msg_id, t->account, t->mail_from, t->address,
               outcome_name(t->outcome), when, t->attempts, t->code, t->enhanced ? t->enhanced : "",
               t->text ? t->text : "");
        return 0;
    }
    tool_json *j = &l->j;
    tool_json_obj_begin(j);
    tool_json_key(j, "id");
    tool_json_int(j, t->id);
    tool_json_key(j, "base_id");
    tool_json_int(j, t->msg_id);
    tool_json_key(j, "account");
    tool_json_str(j, t->account);
    tool_json_key(j, "from");
    tool_json_str(j, t->mail_from);
    tool_json_key(j, "to");
    tool_json_str(j, t->address);
    tool_json_key(j, "destination");
    tool_json_str(j, t->domain);
    tool_json_key(j, "outcome");
    tool_json_str(j, outcome_name(t->outcome));
    tool_json_key(j, "attempts");
    tool_json_int(j, t->attempts);
    tool_json_key(j, "retired");
    tool_json_str(j, when);
    tool_json_key(j, "code");
    tool_json_int(j, t->code);
    tool_json_key(j, "enhanced");
    tool_json_str(j, t->enhanced);
    tool_json_key(j, "text");
    tool_json_str(j, t->text);
    tool_json_obj_end(j);
    return 0;
}

static const char list_usage[] =
    "usage: mox queue list [--store STORE] [--retired] [--json] [--account A]\n"
    "                      [--domain D] [--from-domain D] [--msg BASEID] [--held]\n"
    "\n"
    "Lists queued recipients (id, base id, account, from, to, attempts, next\n"
    "attempt, hold, last result), or with --retired the history of delivered,\n"
    "failed and canceled ones. --json prints one JSON array.\n";

static int run_list(int argc, char **argv)
{
    struct qopts o;
    int help;
    int rc = parse_opts(argc, argv, list_usage, &o, &help, 0);
    if (rc || help)
        return rc;
    mox_queue_store *st;
    mox_queue *q;
    if ((rc = open_queue(o.store, &st, &q)))
        return rc;
    struct lister l;
    memset(&l, 0, sizeof l);
    l.json = o.json;
    tool_json_init(&l.j);
    tool_json_arr_begin(&l.j);
    mox_errinfo ei;
    rc = o.retired ? mox_queue_retired_list(q, &o.f, retired_row, &l, &ei)
                   : mox_queue_list(q, &o.f, list_row, &l, &ei);
    tool_json_arr_end(&l.j);
    if (rc == 0 && o.json)
        tool_json_print(&l.j, stdout);
    tool_json_free(&l.j);
    close_queue(st, q);
    return rc ? tool_err(TOOL_RUNTIME, "%s", ei.msg) : TOOL_OK;
}

static const char show_usage[] = "usage: mox queue show [--store STORE] [--json] ID\n"
                                 "\n"
                                 "Shows one queued recipient (by recipient id).\n";

static int run_show(int argc, char **argv)
{
    struct qopts o;
    int help;
    int rc = parse_opts(argc, argv, show_usage, &o, &help, 1);
    if (rc || help)
        return rc;
    if (o.f.nids != 1) {
        fputs(show_usage, stderr);
        return TOOL_USAGE;
    }
    mox_queue_store *st;
    mox_queue *q;
    if ((rc = open_queue(o.store, &st, &q)))
        return rc;
    struct lister l;
    memset(&l, 0, sizeof l);
    l.json = o.json;
    tool_json_init(&l.j);
    tool_json_arr_begin(&l.j);
    mox_errinfo ei;
    rc = mox_queue_list(q, &o.f, list_row, &l, &ei);
    tool_json_arr_end(&l.j);
    if (rc == 0 && o.json && l.n)
        tool_json_print(&l.j, stdout);
    tool_json_free(&l.j);
    close_queue(st, q);
    if (rc)
        return tool_err(TOOL_RUNTIME, "%s", ei.msg);
    if (!l.n)
        return tool_err(TOOL_RUNTIME, "no queued recipient %lld", (long long)o.ids[0]);
    return TOOL_OK;
}

/* hold, release, retry, drop, fail */
static int run_op(int argc, char **argv, const char *usage,
                  int (*op)(mox_queue *, const mox_queue_filter *, size_t *, mox_errinfo *),
                  const char *verb)
{
    struct qopts o;
    int help;
    int rc = parse_opts(argc, argv, usage, &o, &help, 1);
    if (rc || help)
        return rc;
    if (!o.all && !o.f.nids && !o.f.msg_id && !o.f.account && !o.f.rcpt_domain &&
        !o.f.from_domain && !o.f.held) {
        /* never everything by accident */
        fputs(usage, stderr);
        return tool_err(TOOL_USAGE, "select recipients (IDs, --msg, --account, --domain, "
                                    "--from-domain, --held) or give --all");
    }
    mox_queue_store *st;
    mox_queue *q;
    if ((rc = open_queue(o.store, &st, &q)))
        return rc;
    size_t n = 0;
    mox_errinfo ei;
    rc = op(q, &o.f, &n, &ei);
    close_queue(st, q);
    if (rc)
        return tool_err(TOOL_RUNTIME, "%s", ei.msg);
    printf("%s %zu recipient%s\n", verb, n, n == 1 ? "" : "s");
    return TOOL_OK;
}

#define SEL_USAGE                                                                                  \
    " [--store STORE] [ID...] [--msg BASEID] [--account A]\n"                                     \
    "       [--domain D] [--from-domain D] [--held] [--all]\n"

static const char hold_usage[] = "usage: mox queue hold" SEL_USAGE
                                 "\nHolds the selected recipients (no delivery attempts).\n";
static const char release_usage[] = "usage: mox queue release" SEL_USAGE
                                    "\nReleases held recipients.\n";
static const char retry_usage[] = "usage: mox queue retry [--now]" SEL_USAGE
                                  "\nMakes the selected recipients due now.\n";
static const char drop_usage[] = "usage: mox queue drop" SEL_USAGE
                                 "\nRemoves the selected recipients without a DSN (canceled).\n";
static const char fail_usage[] = "usage: mox queue fail" SEL_USAGE
                                 "\nFails the selected recipients, with a DSN to the sender.\n";

static int run_hold(int c, char **v) { return run_op(c, v, hold_usage, mox_queue_hold, "held"); }
static int run_release(int c, char **v)
{
    return run_op(c, v, release_usage, mox_queue_release, "released");
}
static int run_retry(int c, char **v)
{
    return run_op(c, v, retry_usage, mox_queue_retry_now, "made due");
}
static int run_drop(int c, char **v) { return run_op(c, v, drop_usage, mox_queue_drop, "dropped"); }
static int run_fail(int c, char **v) { return run_op(c, v, fail_usage, mox_queue_fail, "failed"); }

/* ---------------------------------------------------------------- add */

static const char add_usage[] =
    "usage: mox queue add [--store STORE] --account A --from ADDR --to ADDR [--to ADDR...]\n"
    "                     [--hold-until UNIXSECONDS] [FILE]\n"
    "\n"
    "Queues the message in FILE (default stdin; LF line endings are made CRLF)\n"
    "and prints the base id and recipient ids.\n";

static int run_add(int argc, char **argv)
{
    const char *store = getenv("MOX_QUEUE_STORE"), *account = NULL, *from = NULL, *file = NULL;
    const char *to[64];
    size_t nto = 0;
    long long hold = 0;
    for (int i = 1; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(add_usage, stdout);
            fputs(store_usage, stdout);
            return TOOL_OK;
        } else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            store = argv[++i];
        } else if (!strcmp(argv[i], "--account") && i + 1 < argc) {
            account = argv[++i];
        } else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
            from = argv[++i];
        } else if (!strcmp(argv[i], "--to") && i + 1 < argc && nto < 64) {
            to[nto++] = argv[++i];
        } else if (!strcmp(argv[i], "--hold-until") && i + 1 < argc) {
            hold = atoll(argv[++i]);
        } else if (!tool_is_option(argv[i]) && !file) {
            file = argv[i];
        } else {
            fputs(add_usage, stderr);
            return TOOL_USAGE;
        }
    }
    if (!account || !from || !nto) {
        fputs(add_usage, stderr);
        return TOOL_USAGE;
    }
    mox_buf raw = MOX_BUF_INIT, msg = MOX_BUF_INIT;
    int rc = tool_read_file(file, &raw);
    if (rc == TOOL_OK)
        rc = tool_to_crlf(&raw, &msg);
    mox_buf_free(&raw);
    if (rc) {
        mox_buf_free(&msg);
        return rc;
    }
    mox_queue_store *st;
    mox_queue *q;
    if ((rc = open_queue(store, &st, &q))) {
        mox_buf_free(&msg);
        return rc;
    }
    mox_queue_recipient r[64];
    memset(r, 0, sizeof r);
    for (size_t i = 0; i < nto; i++)
        r[i].address = to[i];
    mox_queue_submission s = MOX_QUEUE_SUBMISSION_INIT;
    s.account = account;
    s.mail_from = from;
    s.data = msg.data;
    s.len = msg.len;
    s.rcpts = r;
    s.nrcpts = nto;
    s.hold_until_ms = hold * 1000;
    mox_errinfo ei;
    rc = mox_queue_enqueue(q, &s, &ei);
    close_queue(st, q);
    mox_buf_free(&msg);
    if (rc)
        return tool_err(TOOL_RUNTIME, "%s", ei.msg);
    printf("queued base %lld fromid %s:", (long long)s.msg_id, s.fromid);
    for (size_t i = 0; i < nto; i++) {
        if (r[i].status)
            printf(" %s refused (suppressed)", to[i]);
        else
            printf(" %lld", (long long)r[i].id);
    }
    printf("\n");
    return TOOL_OK;
}

/* ---------------------------------------------------------------- rules */

static const char rules_usage[] =
    "usage: mox queue rules list [--store STORE] [--json]\n"
    "       mox queue rules add [--store STORE] [--account A] [--from-domain D] [--domain D]\n"
    "       mox queue rules remove [--store STORE] ID\n"
    "\n"
    "Hold rules: new messages matching every given member are held.\n";

static int rule_print(void *ctx, const mox_queue_rule *r)
{
    tool_json *j = ctx;
    if (!j) {
        printf("%lld account=%s from-domain=%s domain=%s\n", (long long)r->id,
               r->account ? r->account : "*", r->from_domain ? r->from_domain : "*",
               r->rcpt_domain ? r->rcpt_domain : "*");
        return 0;
    }
    tool_json_obj_begin(j);
    tool_json_key(j, "id");
    tool_json_int(j, r->id);
    tool_json_key(j, "account");
    tool_json_str(j, r->account);
    tool_json_key(j, "from_domain");
    tool_json_str(j, r->from_domain);
    tool_json_key(j, "domain");
    tool_json_str(j, r->rcpt_domain);
    tool_json_obj_end(j);
    return 0;
}

static int run_rules(int argc, char **argv)
{
    if (argc < 2 || tool_is_help(argv[1])) {
        fputs(rules_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? TOOL_USAGE : TOOL_OK;
    }
    const char *sub = argv[1];
    int is_list = !strcmp(sub, "list"), is_add = !strcmp(sub, "add"),
        is_rm = !strcmp(sub, "remove");
    if (!is_list && !is_add && !is_rm) {
        fputs(rules_usage, stderr);
        return tool_err(TOOL_USAGE, "unknown rules command %s", sub);
    }
    struct qopts o;
    int help;
    int rc = parse_opts(argc - 1, argv + 1, rules_usage, &o, &help, is_rm);
    if (rc || help)
        return rc;
    if (is_rm && o.f.nids != 1) {
        fputs(rules_usage, stderr);
        return TOOL_USAGE;
    }
    mox_queue_store *st;
    mox_queue *q;
    if ((rc = open_queue(o.store, &st, &q)))
        return rc;
    mox_errinfo ei;
    if (is_list) {
        tool_json j;
        tool_json_init(&j);
        tool_json_arr_begin(&j);
        rc = mox_queue_rule_list(q, rule_print, o.json ? &j : NULL, &ei);
        tool_json_arr_end(&j);
        if (rc == 0 && o.json)
            tool_json_print(&j, stdout);
        tool_json_free(&j);
    } else if (is_add) {
        mox_queue_rule r = {0, o.f.account, o.f.from_domain, o.f.rcpt_domain};
        rc = mox_queue_rule_add(q, &r, &ei);
        if (rc == 0)
            printf("rule %lld added\n", (long long)r.id);
    } else {
        rc = mox_queue_rule_remove(q, o.ids[0], &ei);
        if (rc == 0)
            printf("rule %lld removed\n", (long long)o.ids[0]);
    }
    close_queue(st, q);
    return rc ? tool_err(TOOL_RUNTIME, "%s", ei.msg) : TOOL_OK;
}

/* ---------------------------------------------------------------- suppressions */

static const char supp_usage[] =
    "usage: mox queue suppressions list [--store STORE] [--json] [ACCOUNT]\n"
    "       mox queue suppressions add [--store STORE] ACCOUNT ADDRESS [REASON]\n"
    "       mox queue suppressions remove [--store STORE] ACCOUNT ADDRESS\n"
    "\n"
    "Per-account suppression lists; addresses are normalised (lower case, +tag\n"
    "removed). Suppressed recipients are refused when a message is queued.\n";

static int supp_print(void *ctx, const mox_queue_suppression *s)
{
    tool_json *j = ctx;
    char created[40], expires[40];
    rfc3339(s->created_ms, created, sizeof created);
    rfc3339(s->expires_ms, expires, sizeof expires);
    if (!j) {
        printf("%s %s %s%s%s %s\n", s->account, s->address, s->manual ? "manual" : "automatic",
               expires[0] ? " until " : "", expires, s->reason ? s->reason : "");
        return 0;
    }
    tool_json_obj_begin(j);
    tool_json_key(j, "account");
    tool_json_str(j, s->account);
    tool_json_key(j, "address");
    tool_json_str(j, s->address);
    tool_json_key(j, "manual");
    tool_json_bool(j, s->manual);
    tool_json_key(j, "reason");
    tool_json_str(j, s->reason);
    tool_json_key(j, "created");
    tool_json_str(j, created);
    tool_json_key(j, "expires");
    tool_json_str(j, expires[0] ? expires : NULL);
    tool_json_obj_end(j);
    return 0;
}

static int run_supp(int argc, char **argv)
{
    if (argc < 2 || tool_is_help(argv[1])) {
        fputs(supp_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? TOOL_USAGE : TOOL_OK;
    }
    const char *sub = argv[1];
    int is_list = !strcmp(sub, "list"), is_add = !strcmp(sub, "add"),
        is_rm = !strcmp(sub, "remove");
    if (!is_list && !is_add && !is_rm) {
        fputs(supp_usage, stderr);
        return tool_err(TOOL_USAGE, "unknown suppressions command %s", sub);
    }
    const char *store = getenv("MOX_QUEUE_STORE"), *pos[3] = {NULL, NULL, NULL};
    int npos = 0, json = 0;
    for (int i = 2; i < argc; i++) {
        if (tool_is_help(argv[i])) {
            fputs(supp_usage, stdout);
            fputs(store_usage, stdout);
            return TOOL_OK;
        } else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
            store = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!tool_is_option(argv[i]) && npos < 3) {
            pos[npos++] = argv[i];
        } else {
            fputs(supp_usage, stderr);
            return TOOL_USAGE;
        }
    }
    if ((is_list && npos > 1) || (is_add && npos < 2) || (is_rm && npos != 2)) {
        fputs(supp_usage, stderr);
        return TOOL_USAGE;
    }
    mox_queue_store *st;
    mox_queue *q;
    int rc;
    if ((rc = open_queue(store, &st, &q)))
        return rc;
    mox_errinfo ei;
    if (is_list) {
        tool_json j;
        tool_json_init(&j);
        tool_json_arr_begin(&j);
        rc = mox_queue_suppression_list(q, pos[0], supp_print, json ? &j : NULL, &ei);
        tool_json_arr_end(&j);
        if (rc == 0 && json)
            tool_json_print(&j, stdout);
        tool_json_free(&j);
    } else if (is_add) {
        mox_queue_suppression s = {pos[0], pos[1], pos[2] ? pos[2] : "added with mox queue", 1,
                                   0, 0};
        rc = mox_queue_suppression_add(q, &s, &ei);
    } else {
        rc = mox_queue_suppression_remove(q, pos[0], pos[1], &ei);
    }
    close_queue(st, q);
    return rc ? tool_err(TOOL_RUNTIME, "%s", ei.msg) : TOOL_OK;
}

static const struct tool_cmd c_list = {"list", "list queued (or --retired) recipients", run_list};
static const struct tool_cmd c_show = {"show", "show one queued recipient", run_show};
static const struct tool_cmd c_add = {"add", "queue a message from a file", run_add};
static const struct tool_cmd c_hold = {"hold", "hold recipients", run_hold};
static const struct tool_cmd c_release = {"release", "release held recipients", run_release};
static const struct tool_cmd c_retry = {"retry", "make recipients due now", run_retry};
static const struct tool_cmd c_drop = {"drop", "remove recipients without DSN", run_drop};
static const struct tool_cmd c_fail = {"fail", "fail recipients with a DSN", run_fail};
static const struct tool_cmd c_rules = {"rules", "hold rules: list, add, remove", run_rules};
static const struct tool_cmd c_supp = {"suppressions", "suppression lists: list, add, remove",
                                       run_supp};

static const struct tool_cmd *const subs[] = {&c_list, &c_show,  &c_add,   &c_hold,
                                              &c_release, &c_retry, &c_drop, &c_fail,
                                              &c_rules, &c_supp,  NULL};

static int run(int argc, char **argv) { return tool_dispatch("mox queue", subs, argc, argv); }

const struct tool_cmd tool_cmd_queue = {"queue", "outgoing queue: list, hold, retry, drop, ...",
                                        run};
