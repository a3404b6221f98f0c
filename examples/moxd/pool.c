/* Worker pool for blocking work (system DNS, fsync). Jobs run on a worker
 * thread; their completion runs back on the event loop, signalled through
 * an eventfd the loop polls. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pool.h"

struct moxd_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    moxd_job *q_head, *q_tail;
    moxd_job *done_head, *done_tail;
    pthread_t *threads;
    unsigned nthreads;
    int stop;
    int efd;
    unsigned busy;
};

static void *worker(void *arg)
{
    moxd_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->q_head && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->q_head && p->stop)
            break;
        moxd_job *j = p->q_head;
        p->q_head = j->next;
        if (!p->q_head)
            p->q_tail = NULL;
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        j->work(j);
        pthread_mutex_lock(&p->mu);
        p->busy--;
        j->next = NULL;
        if (p->done_tail)
            p->done_tail->next = j;
        else
            p->done_head = j;
        p->done_tail = j;
        uint64_t one = 1;
        (void)!write(p->efd, &one, sizeof one);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int moxd_pool_new(moxd_pool **out, unsigned nthreads)
{
    moxd_pool *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        free(p);
        return -errno;
    }
    if (nthreads == 0)
        nthreads = 1;
    p->threads = calloc(nthreads, sizeof *p->threads);
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
            break;
        p->nthreads++;
    }
    if (!p->nthreads) {
        moxd_pool_free(p);
        return -EAGAIN;
    }
    *out = p;
    return 0;
}

int moxd_pool_fd(const moxd_pool *p) { return p->efd; }

void moxd_pool_submit(moxd_pool *p, moxd_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->q_tail)
        p->q_tail->next = j;
    else
        p->q_head = j;
    p->q_tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void moxd_pool_complete(moxd_pool *p)
{
    uint64_t v;
    (void)!read(p->efd, &v, sizeof v);
    pthread_mutex_lock(&p->mu);
    moxd_job *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        moxd_job *n = j->next;
        j->done(j);
        j = n;
    }
}

void moxd_pool_free(moxd_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    close(p->efd);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
