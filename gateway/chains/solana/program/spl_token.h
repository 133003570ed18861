/*
 * SPL Token (the original program, not Token-2022): account and mint layouts, the
 * instruction tags used here, and checks on token accounts. Needs sbpf.h.
 */
#ifndef BITROUTER_SPL_TOKEN_H
#define BITROUTER_SPL_TOKEN_H

#include "sbpf.h"

static const SolPubkey TOKEN_PROGRAM_ID = {{
    0x06, 0xdd, 0xf6, 0xe1, 0xd7, 0x65, 0xa1, 0x93, 0xd9, 0xcb, 0xe1, 0x46, 0xce, 0xeb, 0x79, 0xac,
    0x1c, 0xb4, 0x85, 0xed, 0x5f, 0x5b, 0x37, 0x91, 0x3a, 0x8c, 0xf5, 0x85, 0x7e, 0xff, 0x00, 0xa9,
}};

/* SPL Token account and mint layouts (offsets into account data). */
#define TOKEN_ACCOUNT_LEN 165
#define TA_MINT 0
#define TA_OWNER 32
#define TA_AMOUNT 64
#define TA_DELEGATE_TAG 72
#define TA_DELEGATE 76
#define TA_STATE 108
#define TA_DELEGATED_AMOUNT 121
#define TA_STATE_INITIALIZED 1
#define MINT_LEN 82
#define MINT_DECIMALS 44
#define MINT_INITIALIZED 45

#define TOKEN_IX_TRANSFER_CHECKED 12
#define TOKEN_IX_APPROVE_CHECKED 13
#define TOKEN_IX_REVOKE 5

/* SPL's delegate key sits at offset 76: 4-aligned only, so compare 32-bit words. */
static bool delegate_is(const uint8_t *token_data, const SolPubkey *key) {
  const uint32_t *a = (const uint32_t *)(token_data + TA_DELEGATE);
  const uint32_t *b = (const uint32_t *)key;
  if (*(const uint32_t *)(token_data + TA_DELEGATE_TAG) != 1) return false;
  for (int i = 0; i < 8; i++)
    if (a[i] != b[i]) return false;
  return true;
}

static const SolPubkey *token_mint(const Account *a) {
  return (const SolPubkey *)(a->data + TA_MINT);
}
static const SolPubkey *token_owner(const Account *a) {
  return (const SolPubkey *)(a->data + TA_OWNER);
}
static uint64_t token_amount(const Account *a) { return *(const uint64_t *)(a->data + TA_AMOUNT); }

/* An initialized, unfrozen SPL Token account (frozen ones would fail inside SPL instead). */
static bool is_token_account(const Account *a) {
  return key_eq(&a->owner, &TOKEN_PROGRAM_ID) && a->data_len == TOKEN_ACCOUNT_LEN &&
         a->data[TA_STATE] == TA_STATE_INITIALIZED;
}

static bool is_mint(const Account *a) {
  return key_eq(&a->owner, &TOKEN_PROGRAM_ID) && a->data_len == MINT_LEN &&
         a->data[MINT_INITIALIZED] == 1;
}

#endif
