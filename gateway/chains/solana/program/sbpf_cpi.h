/*
 * Calling other programs from C: the Cpi description, invoke(), and create_pda() for
 * program-owned accounts at program-derived addresses. Needs sbpf.h.
 */
#ifndef BITROUTER_SBPF_CPI_H
#define BITROUTER_SBPF_CPI_H

#include "sbpf.h"

static const SolPubkey SYSTEM_PROGRAM_ID = {{0}};

#define SYSTEM_IX_CREATE_ACCOUNT 0
#define SYSTEM_IX_ASSIGN 1
#define SYSTEM_IX_TRANSFER 2
#define SYSTEM_IX_ALLOCATE 8

#define CPI_MAX_ACCOUNTS 4
enum { CPI_WRITABLE = 1, CPI_SIGNER = 2 };

typedef struct {
  const SolPubkey *program_id;
  Account *accounts[CPI_MAX_ACCOUNTS];
  uint8_t flags[CPI_MAX_ACCOUNTS];
  uint64_t count;
  const uint8_t *data;
  uint64_t data_len;
  const SolSignerSeeds *signer; /* the PDA this program signs for, or NULL */
} Cpi;

/* Builds the account metas and infos on its own stack frame (they would not fit the
 * callers' 512 bytes next to their own state). A failing callee aborts the transaction. */
__attribute__((noinline)) static uint64_t invoke(const Cpi *cpi) {
  SolAccountMeta metas[CPI_MAX_ACCOUNTS];
  SolAccountInfo infos[CPI_MAX_ACCOUNTS];
  for (uint64_t i = 0; i < cpi->count; i++) {
    Account *a = cpi->accounts[i];
    metas[i].pubkey = &a->key;
    metas[i].is_writable = cpi->flags[i] & CPI_WRITABLE;
    metas[i].is_signer = cpi->flags[i] & CPI_SIGNER;
    infos[i].key = &a->key;
    infos[i].lamports = &a->lamports;
    infos[i].data_len = a->data_len;
    infos[i].data = a->data;
    infos[i].owner = &a->owner;
    infos[i].rent_epoch = account_rent_epoch(a);
    infos[i].is_signer = a->is_signer;
    infos[i].is_writable = a->is_writable;
    infos[i].executable = a->executable;
  }
  SolInstruction ix = {cpi->program_id, metas, cpi->count, cpi->data, cpi->data_len};
  return sol_invoke_signed_c(&ix, infos, cpi->count, cpi->signer, cpi->signer ? 1 : 0);
}

/* Creates the program-owned PDA `target` with `space` bytes, rent paid by `payer`. Anyone may
 * send lamports to a PDA before it exists, which makes CreateAccount fail; that case is
 * finished with Transfer + Allocate + Assign instead, so nobody can block a grant or receipt. */
__attribute__((noinline)) static uint64_t create_pda(Account *payer, Account *target,
                                                     uint64_t space, const SolSignerSeeds *signer,
                                                     const SolPubkey *program_id) {
  uint64_t lamports = rent_exempt_minimum(space);
  uint64_t words[7] = {0}; /* 52 bytes of instruction data, 8-aligned */
  uint8_t *data = (uint8_t *)words;
  Cpi cpi = {&SYSTEM_PROGRAM_ID, {payer, target}, {CPI_WRITABLE | CPI_SIGNER,
             CPI_WRITABLE | CPI_SIGNER}, 2, data, 0, signer};
  uint64_t err;
  if (target->lamports == 0) {
    data[0] = SYSTEM_IX_CREATE_ACCOUNT;
    write_u64(data + 4, lamports);
    write_u64(data + 12, space);
    copy_key_to(data + 20, program_id);
    cpi.data_len = 52;
    return invoke(&cpi);
  }
  if (target->lamports < lamports) {
    data[0] = SYSTEM_IX_TRANSFER;
    write_u64(data + 4, lamports - target->lamports);
    cpi.data_len = 12;
    cpi.flags[1] = CPI_WRITABLE;
    if ((err = invoke(&cpi))) return err;
  }
  cpi.accounts[0] = target;
  cpi.flags[0] = CPI_WRITABLE | CPI_SIGNER;
  cpi.count = 1;
  data[0] = SYSTEM_IX_ALLOCATE;
  write_u64(data + 4, space);
  cpi.data_len = 12;
  if ((err = invoke(&cpi))) return err;
  data[0] = SYSTEM_IX_ASSIGN;
  copy_key_to(data + 4, program_id);
  cpi.data_len = 36;
  return invoke(&cpi);
}

#endif
