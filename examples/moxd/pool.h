/* moxd worker pool. */
#ifndef MOXD_POOL_H
#define MOXD_POOL_H

typedef struct moxd_job moxd_job;
struct moxd_job {
    void (*work)(moxd_job *j); /* on a worker thread */
    void (*done)(moxd_job *j); /* back on the event loop (frees j) */
    moxd_job *next;
};

typedef struct moxd_pool moxd_pool;

int moxd_pool_new(moxd_pool **out, unsigned nthreads);
void moxd_pool_free(moxd_pool *p); /* waits for running jobs */
int moxd_pool_fd(const moxd_pool *p);  /* readable when jobs completed */
void moxd_pool_submit(moxd_pool *p, moxd_job *j);
void moxd_pool_complete(moxd_pool *p); /* runs the done callbacks */

#endif
