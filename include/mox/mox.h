/*
 * libmox — embeddable email protocol components. Including this header
 * gives every public module.
 */
#ifndef MOX_MOX_H
#define MOX_MOX_H

#include "common.h"
#include "core.h"
#include "text.h"
#include "message.h"
#include "address.h"
#include "dns.h"
#include "engine.h"
#include "dkim.h"
#include "spf.h"
#include "dmarc.h"
#include "iprev.h"
#include "msgauth.h"
#include "sasl.h"
#include "smtp.h"
#include "smtp_client.h"
#include "smtp_server.h"
#include "tls.h"
#include "dsn.h"
#include "queue.h"

#endif
