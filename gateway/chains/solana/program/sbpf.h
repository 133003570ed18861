/*
 * A minimal SDK for Solana programs in C (SBPFv0, loaders v2/v3): the entrypoint's input
 * layout, the account and instruction structs the C CPI syscall reads, and the syscalls this
 * project uses. Written from the runtime's documented ABI; the Solana SDK is not vendored.
 *
 * Stock BPF limits apply: 512-byte stack frames, at most 5 arguments per call, no writable
 * globals. Syscalls are plain extern functions: the linker turns each call into a relocation
 * against the syscall's name, which the loader resolves.
 */
#ifndef BITROUTER_SBPF_H
#define BITROUTER_SBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys inside the input buffer are 8-byte aligned, which lets key_eq compare words. */
typedef struct __attribute__((aligned(8))) {
  uint8_t x[32];
} SolPubkey;

/* How much an account's data may grow inside one instruction; the serializer reserves it. */
#define MAX_PERMITTED_DATA_INCREASE 10240
#define NON_DUP_MARKER 0xff

/* One non-duplicate account as serialized into the input region (aligned layout). Writes to
 * lamports and data go straight back to the runtime when the program returns. */
typedef struct {
  uint8_t dup;                /* NON_DUP_MARKER here; a duplicate entry holds the index */
  uint8_t is_signer;
  uint8_t is_writable;
  uint8_t executable;
  uint32_t original_data_len; /* written by the runtime; not used here */
  SolPubkey key;
  SolPubkey owner;
  uint64_t lamports;
  uint64_t data_len;
  uint8_t data[];             /* then 10 KiB spare, padding to 8, and u64 rent_epoch */
} Account;

/* The accounts this program ever reads; extra ones are skipped. */
#define MAX_ACCOUNTS 8

typedef struct {
  Account *accounts[MAX_ACCOUNTS];
  uint64_t count; /* how many of accounts[] are set */
  const uint8_t *data;
  uint64_t data_len;
  const SolPubkey *program_id;
} Input;

/* Walks the input region: u64 account count, the accounts, u64 data length, data, program id. */
static bool deserialize(const uint8_t *input, Input *in) {
  uint64_t total = *(const uint64_t *)input;
  input += sizeof(uint64_t);
  in->count = 0;
  for (uint64_t i = 0; i < total; i++) {
    Account *account = (Account *)input;
    if (account->dup != NON_DUP_MARKER) {
      /* A repeated account is one 8-byte entry naming the index of its first appearance. */
      if (i < MAX_ACCOUNTS) {
        if (account->dup >= i) return false;
        in->accounts[i] = in->accounts[account->dup];
      }
      input += 8;
    } else {
      if (i < MAX_ACCOUNTS) in->accounts[i] = account;
      uint64_t data_end = sizeof(Account) + account->data_len + MAX_PERMITTED_DATA_INCREASE;
      input += ((data_end + 7) & ~(uint64_t)7) + sizeof(uint64_t);
    }
    if (i < MAX_ACCOUNTS) in->count = i + 1;
  }
  in->data_len = *(const uint64_t *)input;
  in->data = input + sizeof(uint64_t);
  in->program_id = (const SolPubkey *)(in->data + in->data_len);
  return true;
}

static uint64_t account_rent_epoch(const Account *account) {
  uint64_t data_end = sizeof(Account) + account->data_len + MAX_PERMITTED_DATA_INCREASE;
  return *(const uint64_t *)((const uint8_t *)account + ((data_end + 7) & ~(uint64_t)7));
}

static inline bool key_eq(const SolPubkey *a, const SolPubkey *b) {
  const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;
  return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* What the C CPI syscall reads (layouts fixed by the runtime). */
typedef struct {
  SolPubkey *key;
  uint64_t *lamports;
  uint64_t data_len;
  uint8_t *data;
  SolPubkey *owner;
  uint64_t rent_epoch;
  bool is_signer;
  bool is_writable;
  bool executable;
} SolAccountInfo;

typedef struct {
  SolPubkey *pubkey;
  bool is_writable;
  bool is_signer;
} SolAccountMeta;

typedef struct {
  const SolPubkey *program_id;
  SolAccountMeta *accounts;
  uint64_t account_len;
  const uint8_t *data;
  uint64_t data_len;
} SolInstruction;

/* A byte slice: one seed, or one input of sol_sha256. */
typedef struct {
  const uint8_t *addr;
  uint64_t len;
} SolBytes;

typedef struct {
  const SolBytes *addr;
  uint64_t len;
} SolSignerSeeds;

typedef struct {
  uint64_t slot;
  int64_t epoch_start_timestamp;
  uint64_t epoch;
  uint64_t leader_schedule_epoch;
  int64_t unix_timestamp;
} SolClock;

typedef struct {
  uint64_t lamports_per_byte_year;
  uint64_t exemption_threshold_bits; /* an f64; BPF has no floating point */
  uint8_t burn_percent;
} SolRent;

/* Bytes every account is charged for beyond its data (ACCOUNT_STORAGE_OVERHEAD). */
#define ACCOUNT_STORAGE_OVERHEAD 128

extern void sol_log_(const char *message, uint64_t len);
extern void sol_log_64_(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e);
extern uint64_t sol_sha256(const SolBytes *parts, uint64_t count, uint8_t *hash);
extern uint64_t sol_try_find_program_address(const SolBytes *seeds, uint64_t count,
                                             const SolPubkey *program_id, SolPubkey *address,
                                             uint8_t *bump);
extern uint64_t sol_invoke_signed_c(const SolInstruction *instruction,
                                    const SolAccountInfo *account_infos, uint64_t info_count,
                                    const SolSignerSeeds *signers, uint64_t signer_count);
extern uint64_t sol_get_clock_sysvar(SolClock *clock);
extern uint64_t sol_get_rent_sysvar(SolRent *rent);
/* 0 if `point` is a valid compressed point of the curve, 1 if not. */
#define CURVE25519_EDWARDS 0
extern uint64_t sol_curve_validate_point(uint64_t curve_id, const uint8_t *point,
                                         uint8_t *unused);

/* ---- byte, time, rent and address utilities ---------------------------------------------- */

/* Instruction data fields follow a 1-byte tag, so they are not aligned. */
static uint64_t read_u64(const uint8_t *p) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; i--) value = (value << 8) | p[i];
  return value;
}

static void write_u64(uint8_t *p, uint64_t value) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(value >> (8 * i));
}

static void copy_bytes(uint8_t *to, const uint8_t *from, uint64_t len) {
  for (uint64_t i = 0; i < len; i++) to[i] = from[i];
}

/* Copies a key to a 4-aligned place (as in system instruction data) a word at a time. */
static void copy_key_to(uint8_t *to, const SolPubkey *key) {
  const uint32_t *from = (const uint32_t *)key;
  for (int i = 0; i < 8; i++) ((uint32_t *)to)[i] = from[i];
}

/* The cluster's unix time (the Clock sysvar). */
static int64_t unix_time(void) {
  SolClock clock;
  sol_get_clock_sysvar(&clock);
  return clock.unix_timestamp;
}

/* Rent-exempt minimum for `space` bytes. The threshold is an f64 (2.0, or 1.0 where the
 * lamports per byte were doubled instead); BPF has no floating point, so it is applied as
 * mantissa * 2^exponent, rounded up. */
static uint64_t rent_exempt_minimum(uint64_t space) {
  SolRent rent;
  sol_get_rent_sysvar(&rent);
  uint64_t bits = rent.exemption_threshold_bits;
  uint64_t base = (ACCOUNT_STORAGE_OVERHEAD + space) * rent.lamports_per_byte_year;
  if ((bits & 0x7fffffffffffffffULL) == 0) return 0;
  uint64_t mantissa = (bits & 0xfffffffffffffULL) | 0x10000000000000ULL;
  int64_t shift = 1075 - (int64_t)((bits >> 52) & 0x7ff);
  for (int64_t step = 32; step > 0; step >>= 1) {
    if (shift >= step && (mantissa & ((1ULL << step) - 1)) == 0) {
      mantissa >>= step;
      shift -= step;
    }
  }
  while (mantissa >= (1ULL << 32)) { /* only for non-dyadic thresholds; stays rounded up */
    mantissa = (mantissa >> 1) + (mantissa & 1);
    shift--;
  }
  uint64_t value = base * mantissa;
  if (shift <= 0) return value << -shift;
  if (shift >= 64) return 1;
  return (value + (1ULL << shift) - 1) >> shift;
}

static const uint8_t PDA_MARKER[] = "ProgramDerivedAddress";

/* The would-be PDA of `seeds` (bump included) under `program_id`: exactly what
 * sol_create_program_address hashes, at a tenth of its cost, without its off-curve test. */
static void pda_hash(const SolBytes *seeds, uint64_t count, const SolPubkey *program_id,
                     SolPubkey *hash) {
  SolBytes parts[6];
  for (uint64_t i = 0; i < count; i++) parts[i] = seeds[i];
  parts[count].addr = program_id->x;
  parts[count].len = 32;
  parts[count + 1].addr = PDA_MARKER;
  parts[count + 1].len = sizeof(PDA_MARKER) - 1;
  sol_sha256(parts, count + 2, hash->x);
}

/* Is `address` the PDA of `seeds` under `program_id`, for a bump already known to give a PDA
 * (such as a bump sol_try_find_program_address chose and the program stored)? */
static bool is_pda(const SolPubkey *address, const SolBytes *seeds, uint64_t count,
                   const SolPubkey *program_id) {
  SolPubkey hash;
  pda_hash(seeds, count, program_id, &hash);
  return key_eq(&hash, address);
}

/* Is `address` the PDA of `seeds` with the canonical bump, the highest that gives a PDA (an
 * off-curve hash)? The bump is the last seed, one byte. About half of all bumps give a PDA, so
 * this costs a hash and a point check or two where a full find costs 1,500 units a try. */
static bool is_canonical_pda(const SolPubkey *address, SolBytes *seeds, uint64_t count,
                             const SolPubkey *program_id) {
  const uint8_t *given = seeds[count - 1].addr;
  uint8_t bump = 255;
  SolPubkey hash;
  seeds[count - 1].addr = &bump;
  bool off_curve;
  for (;; bump--) {
    pda_hash(seeds, count, program_id, &hash);
    off_curve = sol_curve_validate_point(CURVE25519_EDWARDS, hash.x, NULL) != 0;
    if (bump == *given || off_curve) break;
  }
  bool ok = bump == *given && off_curve && key_eq(&hash, address);
  seeds[count - 1].addr = given;
  return ok;
}

#endif
