/*
 * bitrouter spending caps: an owner lets one agent's payee pull USDC from the owner's token
 * account within a per-transaction cap, a cumulative cap and an expiry, until revoked.
 *
 * Instructions (1-byte tag, then fixed little-endian fields):
 *   0 grant  (owner signs)  create the grant PDA [b"grant", owner, agent] and SPL-approve it
 *                           as delegate of the source token account for the cumulative cap
 *   1 pay    (payee signs)  check everything, move tokens source -> payee by transfer_checked
 *                           signed by the grant PDA, create the receipt PDA
 *                           [b"receipt", grant, reference] so the reference cannot repeat
 *   2 revoke (owner signs)  mark the grant revoked and drop its SPL delegation
 *   3 close  (owner signs)  after revoke, return the grant's rent to the owner
 *
 * Every refusal returns one of the ERR_* codes below (custom program error N); they are
 * documented in specs/onchain-program.md and mirrored in _errors.py. Only SPL Token (not
 * Token-2022) accounts are accepted; the program works for any mint and records it, and the
 * payee is the one to check that a grant's mint is the token it expects.
 */
#include "sbpf.h"
#include "sbpf_cpi.h"
#include "spl_token.h"

enum {
  ERR_INVALID_INSTRUCTION = 100,   /* unknown tag or wrong data length */
  ERR_NOT_ENOUGH_ACCOUNTS = 101,
  ERR_MISSING_SIGNATURE = 102,     /* the owner (grant/revoke/close) or payee (pay) did not sign */
  ERR_NOT_WRITABLE = 103,          /* an account the instruction changes is passed read-only */
  ERR_WRONG_PROGRAM = 104,         /* the token or system program account is not the real one */
  ERR_INVALID_GRANT_ADDRESS = 105, /* not the PDA [b"grant", owner, agent, bump] */
  ERR_GRANT_EXISTS = 106,
  ERR_INVALID_GRANT = 107,         /* not a grant account of this program */
  ERR_INVALID_CAPS = 108,          /* per-tx cap is 0 or above the cumulative cap */
  ERR_EXPIRY_IN_PAST = 109,
  ERR_INVALID_MINT = 110,          /* not an initialized SPL Token mint */
  ERR_INVALID_TOKEN_ACCOUNT = 111, /* not an initialized, unfrozen SPL Token account */
  ERR_OWNER_MISMATCH = 112,        /* the signer does not own the grant or the source */
  ERR_SOURCE_MISMATCH = 113,       /* not the grant's source token account */
  ERR_MINT_MISMATCH = 114,         /* mint differs from the grant's (or the source's) */
  ERR_DESTINATION_MISMATCH = 115,  /* destination is not the payee's account of the mint */
  ERR_PAYEE_MISMATCH = 116,        /* the signer is not the grant's payee */
  ERR_REVOKED = 117,
  ERR_EXPIRED = 118,
  ERR_ZERO_AMOUNT = 119,
  ERR_OVER_PER_TX_CAP = 120,
  ERR_OVER_CUMULATIVE_CAP = 121,
  ERR_ALLOWANCE_TOO_LOW = 122,     /* the SPL delegation to the grant is gone or too small */
  ERR_INSUFFICIENT_FUNDS = 123,    /* the source holds less than the amount */
  ERR_INVALID_RECEIPT_ADDRESS = 124,
  ERR_REFERENCE_USED = 125,
  ERR_NOT_REVOKED = 126,           /* close before revoke */
};

enum { IX_GRANT = 0, IX_PAY = 1, IX_REVOKE = 2, IX_CLOSE = 3 };
enum { KIND_GRANT = 1, KIND_RECEIPT = 2 };

/* Grant account data (program-owned, 208 bytes; every multi-byte field 8-aligned). */
typedef struct {
  uint8_t kind; /* KIND_GRANT */
  uint8_t bump;
  uint8_t revoked;
  uint8_t reserved[5];
  SolPubkey owner;
  SolPubkey agent;
  SolPubkey payee;
  SolPubkey mint;
  SolPubkey source;
  uint64_t per_tx_cap;
  uint64_t cumulative_cap;
  uint64_t paid;       /* invariant: paid <= cumulative_cap */
  int64_t expires_at;  /* unix seconds; pay needs clock < expires_at */
  uint64_t payments;
} Grant;
_Static_assert(sizeof(Grant) == 208, "grant layout");

/* Receipt account data (program-owned, 24 bytes). Its address is the record of the reference;
 * the data lets a reader see what was paid. */
typedef struct {
  uint8_t kind; /* KIND_RECEIPT */
  uint8_t bump;
  uint8_t reserved[6];
  uint64_t amount;
  int64_t paid_at;
} Receipt;
_Static_assert(sizeof(Receipt) == 24, "receipt layout");

/* Instruction data lengths. */
#define GRANT_DATA_LEN 89 /* tag, agent[32], payee[32], per_tx_cap, cumulative_cap, expires_at */
#define PAY_DATA_LEN 42   /* tag, amount, reference[32], receipt bump */

static const uint8_t GRANT_SEED[] = "grant";
static const uint8_t RECEIPT_SEED[] = "receipt";

static void grant_seeds(SolBytes seeds[4], const Grant *g, const uint8_t *bump) {
  seeds[0].addr = GRANT_SEED;
  seeds[0].len = sizeof(GRANT_SEED) - 1;
  seeds[1].addr = g->owner.x;
  seeds[1].len = 32;
  seeds[2].addr = g->agent.x;
  seeds[2].len = 32;
  seeds[3].addr = bump;
  seeds[3].len = 1;
}

/* The account's data as a grant, or NULL if it is not a live grant of this program. */
static Grant *load_grant(Account *a, const SolPubkey *program_id) {
  if (!key_eq(&a->owner, program_id) || a->data_len != sizeof(Grant)) return NULL;
  Grant *g = (Grant *)a->data;
  return g->kind == KIND_GRANT ? g : NULL;
}

/* ---- grant ------------------------------------------------------------------------------ */
/* Accounts: owner (signer, writable), grant PDA (writable), source token account (writable),
 * mint, token program, system program.
 * Data: tag, agent[32], payee[32], per_tx_cap u64, cumulative_cap u64, expires_at i64. */

/* Everything grant checks before it touches anything; sets *bump to the grant's bump. */
__attribute__((noinline)) static uint64_t check_grant(const Input *in, uint8_t *bump) {
  Account *owner = in->accounts[0], *grant = in->accounts[1], *source = in->accounts[2];
  Account *mint = in->accounts[3];
  const uint8_t *d = in->data;
  if (!owner->is_signer) return ERR_MISSING_SIGNATURE;
  if (!owner->is_writable || !grant->is_writable || !source->is_writable) return ERR_NOT_WRITABLE;
  if (!key_eq(&in->accounts[4]->key, &TOKEN_PROGRAM_ID) ||
      !key_eq(&in->accounts[5]->key, &SYSTEM_PROGRAM_ID))
    return ERR_WRONG_PROGRAM;
  uint64_t per_tx_cap = read_u64(d + 65), cumulative_cap = read_u64(d + 73);
  if (per_tx_cap == 0 || per_tx_cap > cumulative_cap) return ERR_INVALID_CAPS;
  if ((int64_t)read_u64(d + 81) <= unix_time()) return ERR_EXPIRY_IN_PAST;
  if (!is_mint(mint)) return ERR_INVALID_MINT;
  if (!is_token_account(source)) return ERR_INVALID_TOKEN_ACCOUNT;
  if (!key_eq(token_mint(source), &mint->key)) return ERR_MINT_MISMATCH;
  /* The signature that creates the grant must be the one that can approve the delegation. */
  if (!key_eq(token_owner(source), &owner->key)) return ERR_OWNER_MISMATCH;
  /* The canonical bump makes the grant unique per (owner, agent). */
  SolBytes seeds[3] = {{GRANT_SEED, sizeof(GRANT_SEED) - 1}, {owner->key.x, 32}, {d + 1, 32}};
  SolPubkey expected;
  sol_try_find_program_address(seeds, 3, in->program_id, &expected, bump);
  if (!key_eq(&expected, &grant->key)) return ERR_INVALID_GRANT_ADDRESS;
  /* Only this program can give the PDA data or an owner, so either means a grant exists. */
  if (!key_eq(&grant->owner, &SYSTEM_PROGRAM_ID) || grant->data_len != 0) return ERR_GRANT_EXISTS;
  return 0;
}

static uint64_t do_grant(const Input *in) {
  if (in->count < 6) return ERR_NOT_ENOUGH_ACCOUNTS;
  if (in->data_len != GRANT_DATA_LEN) return ERR_INVALID_INSTRUCTION;
  uint8_t bump;
  uint64_t err = check_grant(in, &bump);
  if (err) return err;
  Account *owner = in->accounts[0], *grant = in->accounts[1], *source = in->accounts[2];
  Account *mint = in->accounts[3];
  const uint8_t *d = in->data;

  SolBytes seeds[4] = {{GRANT_SEED, sizeof(GRANT_SEED) - 1}, {owner->key.x, 32}, {d + 1, 32},
                       {&bump, 1}};
  SolSignerSeeds signer = {seeds, 4};
  if ((err = create_pda(owner, grant, sizeof(Grant), &signer, in->program_id))) return err;

  Grant *g = (Grant *)grant->data;
  g->kind = KIND_GRANT;
  g->bump = bump;
  g->owner = owner->key;
  copy_bytes(g->agent.x, d + 1, 32);
  copy_bytes(g->payee.x, d + 33, 32);
  g->mint = mint->key;
  g->source = source->key;
  g->per_tx_cap = read_u64(d + 65);
  g->cumulative_cap = read_u64(d + 73);
  g->expires_at = (int64_t)read_u64(d + 81);

  /* approve_checked(source, mint, delegate = grant, owner): the owner's signature on this
   * transaction carries into the call, so the allowance is set in the same step. */
  uint8_t data[10] = {TOKEN_IX_APPROVE_CHECKED};
  write_u64(data + 1, g->cumulative_cap);
  data[9] = mint->data[MINT_DECIMALS];
  Cpi cpi = {&TOKEN_PROGRAM_ID, {source, mint, grant, owner},
             {CPI_WRITABLE, 0, 0, CPI_SIGNER}, 4, data, sizeof(data), NULL};
  return invoke(&cpi);
}

/* ---- pay -------------------------------------------------------------------------------- */
/* Accounts: payee (signer, writable), grant (writable), source (writable), mint,
 * destination (writable), receipt PDA (writable), token program, system program.
 * Data: tag, amount u64, reference[32], receipt bump. */

/* Every check of pay, in the order a refusal is reported. */
__attribute__((noinline)) static uint64_t check_pay(const Input *in, const Grant *g,
                                                    uint64_t amount, int64_t time) {
  Account *payee = in->accounts[0], *grant = in->accounts[1], *source = in->accounts[2];
  Account *mint = in->accounts[3], *destination = in->accounts[4], *receipt = in->accounts[5];
  /* Only the payee may pull, and only to itself: anyone else signing fails here. */
  if (!payee->is_signer) return ERR_MISSING_SIGNATURE;
  if (!key_eq(&payee->key, &g->payee)) return ERR_PAYEE_MISMATCH;
  if (g->revoked) return ERR_REVOKED;
  if (time >= g->expires_at) return ERR_EXPIRED;
  if (amount == 0) return ERR_ZERO_AMOUNT;
  if (amount > g->per_tx_cap) return ERR_OVER_PER_TX_CAP;
  if (amount > g->cumulative_cap - g->paid) return ERR_OVER_CUMULATIVE_CAP;
  /* The tokens come only from the source the owner named, of the mint the owner named. */
  if (!key_eq(&source->key, &g->source)) return ERR_SOURCE_MISMATCH;
  if (!key_eq(&mint->key, &g->mint)) return ERR_MINT_MISMATCH;
  if (!is_token_account(source)) return ERR_INVALID_TOKEN_ACCOUNT;
  if (!key_eq(token_mint(source), &g->mint)) return ERR_MINT_MISMATCH;
  /* The owner can drop or shrink the SPL allowance at any time; report it as ours. */
  if (!delegate_is(source->data, &grant->key) ||
      read_u64(source->data + TA_DELEGATED_AMOUNT) < amount)
    return ERR_ALLOWANCE_TOO_LOW;
  if (token_amount(source) < amount) return ERR_INSUFFICIENT_FUNDS;
  /* The tokens go only to the payee's own account of the same mint. */
  if (!is_token_account(destination) || !key_eq(token_mint(destination), &g->mint) ||
      !key_eq(token_owner(destination), &g->payee))
    return ERR_DESTINATION_MISMATCH;
  /* The receipt must be the PDA of (grant, reference); if it already belongs to this program
   * the reference was used. */
  SolBytes seeds[4] = {{RECEIPT_SEED, sizeof(RECEIPT_SEED) - 1}, {grant->key.x, 32},
                       {in->data + 9, 32}, {in->data + 41, 1}};
  /* Only the canonical bump: with any bump that gives a PDA, one reference could be paid once
   * per such bump. */
  if (!is_canonical_pda(&receipt->key, seeds, 4, in->program_id))
    return ERR_INVALID_RECEIPT_ADDRESS;
  if (!key_eq(&receipt->owner, &SYSTEM_PROGRAM_ID) || receipt->data_len != 0)
    return ERR_REFERENCE_USED;
  return 0;
}

/* Checks of the grant account itself: a live grant of this program, at its PDA. */
__attribute__((noinline)) static uint64_t check_grant_account(Account *grant, const Input *in,
                                                              Grant **out) {
  Grant *g = load_grant(grant, in->program_id);
  if (!g) return ERR_INVALID_GRANT;
  SolBytes seeds[4];
  grant_seeds(seeds, g, &g->bump);
  if (!is_pda(&grant->key, seeds, 4, in->program_id)) return ERR_INVALID_GRANT_ADDRESS;
  *out = g;
  return 0;
}

static uint64_t do_pay(const Input *in) {
  if (in->count < 8) return ERR_NOT_ENOUGH_ACCOUNTS;
  if (in->data_len != PAY_DATA_LEN) return ERR_INVALID_INSTRUCTION;
  Account *payee = in->accounts[0], *grant = in->accounts[1], *source = in->accounts[2];
  Account *mint = in->accounts[3], *destination = in->accounts[4], *receipt = in->accounts[5];
  if (!payee->is_writable || !grant->is_writable || !source->is_writable ||
      !destination->is_writable || !receipt->is_writable)
    return ERR_NOT_WRITABLE;
  if (!key_eq(&in->accounts[6]->key, &TOKEN_PROGRAM_ID) ||
      !key_eq(&in->accounts[7]->key, &SYSTEM_PROGRAM_ID))
    return ERR_WRONG_PROGRAM;
  Grant *g;
  uint64_t err = check_grant_account(grant, in, &g);
  if (err) return err;
  uint64_t amount = read_u64(in->data + 1);
  int64_t time = unix_time();
  if ((err = check_pay(in, g, amount, time))) return err;

  /* transfer_checked(source, mint, destination, authority = grant), signed as the grant PDA. */
  SolBytes seeds[4];
  grant_seeds(seeds, g, &g->bump);
  SolSignerSeeds signer = {seeds, 4};
  uint8_t data[10] = {TOKEN_IX_TRANSFER_CHECKED};
  write_u64(data + 1, amount);
  data[9] = mint->data[MINT_DECIMALS];
  Cpi cpi = {&TOKEN_PROGRAM_ID, {source, mint, destination, grant},
             {CPI_WRITABLE, 0, CPI_WRITABLE, CPI_SIGNER}, 4, data, sizeof(data), &signer};
  if ((err = invoke(&cpi))) return err;

  uint8_t receipt_bump = in->data[41];
  SolBytes receipt_seeds[4] = {{RECEIPT_SEED, sizeof(RECEIPT_SEED) - 1}, {grant->key.x, 32},
                               {in->data + 9, 32}, {&receipt_bump, 1}};
  SolSignerSeeds receipt_signer = {receipt_seeds, 4};
  if ((err = create_pda(payee, receipt, sizeof(Receipt), &receipt_signer, in->program_id)))
    return err;
  Receipt *r = (Receipt *)receipt->data;
  r->kind = KIND_RECEIPT;
  r->bump = receipt_bump;
  r->amount = amount;
  r->paid_at = time;

  g->paid += amount;
  g->payments += 1;
  return 0;
}

/* ---- revoke and close ------------------------------------------------------------------- */

/* The owner's grant from accounts[0..1], after the signer, writability and ownership checks. */
static uint64_t owner_grant(const Input *in, Grant **out) {
  Account *owner = in->accounts[0], *grant = in->accounts[1];
  if (!owner->is_signer) return ERR_MISSING_SIGNATURE;
  if (!grant->is_writable) return ERR_NOT_WRITABLE;
  uint64_t err = check_grant_account(grant, in, out);
  if (err) return err;
  if (!key_eq(&owner->key, &(*out)->owner)) return ERR_OWNER_MISMATCH;
  return 0;
}

/* Accounts: owner (signer), grant (writable), source (writable), token program. Idempotent. */
static uint64_t do_revoke(const Input *in) {
  if (in->count < 4) return ERR_NOT_ENOUGH_ACCOUNTS;
  if (in->data_len != 1) return ERR_INVALID_INSTRUCTION;
  Grant *g;
  uint64_t err = owner_grant(in, &g);
  if (err) return err;
  Account *owner = in->accounts[0], *grant = in->accounts[1], *source = in->accounts[2];
  if (!key_eq(&source->key, &g->source)) return ERR_SOURCE_MISMATCH;
  if (!key_eq(&in->accounts[3]->key, &TOKEN_PROGRAM_ID)) return ERR_WRONG_PROGRAM;
  g->revoked = 1;
  /* Drop the SPL allowance too, but only while it is still this grant's: a later grant on
   * the same source replaced it, and revoking that would break the other grant. */
  if (is_token_account(source) && key_eq(token_owner(source), &owner->key) &&
      delegate_is(source->data, &grant->key)) {
    if (!source->is_writable) return ERR_NOT_WRITABLE;
    uint8_t data[1] = {TOKEN_IX_REVOKE};
    Cpi cpi = {&TOKEN_PROGRAM_ID, {source, owner}, {CPI_WRITABLE, CPI_SIGNER}, 2, data, 1, NULL};
    return invoke(&cpi);
  }
  return 0;
}

/* Accounts: owner (signer, writable), grant (writable). The account goes back to the system
 * program empty and without lamports (the runtime deletes it after the transaction), so no
 * later instruction can read it as a grant and a grant instruction later in the same
 * transaction can create it afresh: revoke + close + grant replaces a grant atomically. */
static uint64_t do_close(const Input *in) {
  if (in->count < 2) return ERR_NOT_ENOUGH_ACCOUNTS;
  if (in->data_len != 1) return ERR_INVALID_INSTRUCTION;
  Grant *g;
  uint64_t err = owner_grant(in, &g);
  if (err) return err;
  Account *owner = in->accounts[0], *grant = in->accounts[1];
  if (!owner->is_writable) return ERR_NOT_WRITABLE;
  if (!g->revoked) return ERR_NOT_REVOKED;
  owner->lamports += grant->lamports;
  grant->lamports = 0;
  /* The runtime lets the owning program hand an account on only with its data zeroed. */
  for (uint64_t i = 0; i < grant->data_len; i++) grant->data[i] = 0;
  grant->data_len = 0;
  grant->owner = SYSTEM_PROGRAM_ID;
  return 0;
}

uint64_t entrypoint(const uint8_t *input) {
  Input in;
  if (!deserialize(input, &in)) return ERR_INVALID_INSTRUCTION;
  if (in.data_len == 0) return ERR_INVALID_INSTRUCTION;
  switch (in.data[0]) {
    case IX_GRANT: return do_grant(&in);
    case IX_PAY: return do_pay(&in);
    case IX_REVOKE: return do_revoke(&in);
    case IX_CLOSE: return do_close(&in);
    default: return ERR_INVALID_INSTRUCTION;
  }
}
