// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title SpendingAuthority
/// @notice An owner lets an agent spend the owner's token, pulled by one payee only, within a
/// per-payment cap, a cumulative cap and an expiry, until the owner revokes it. Every payment
/// carries a reference that the authority accepts at most once, so a payee can retry a payment
/// after a crash without paying twice.
/// @dev The owner must also approve this contract on the token (ERC-20 `approve`). The allowance
/// is a second, outer limit; the three caps below are enforced here whatever the allowance is.
contract SpendingAuthority {
    struct Authority {
        address token;
        uint64 expiresAt;
        bool revoked;
        address payee;
        uint128 perTxCap;
        uint128 cumulativeCap;
        uint128 paid;
    }

    struct Payment {
        address payee;
        uint64 blockNumber;
        uint128 amount;
    }

    mapping(address owner => mapping(address agent => Authority)) private _authorities;
    // References are scoped to one authority: only that authority's payee can consume one, so
    // nobody else can burn a reference a payee is about to use (front-running a settlement).
    mapping(address owner => mapping(address agent => mapping(bytes32 ref => Payment)))
        private _payments;

    event AuthorityGranted(
        address indexed owner,
        address indexed agent,
        address indexed payee,
        address token,
        uint128 perTxCap,
        uint128 cumulativeCap,
        uint64 expiresAt
    );
    event AuthorityRevoked(address indexed owner, address indexed agent);
    event PaymentMade(
        bytes32 indexed ref,
        address indexed owner,
        address indexed agent,
        address payee,
        address token,
        uint128 amount
    );

    error ZeroAddress();
    error InvalidCaps(uint128 perTxCap, uint128 cumulativeCap);
    error ExpiryNotInFuture(uint64 expiresAt, uint256 blockTime);
    error NoAuthority(address owner, address agent);
    error NotPayee(address caller, address payee);
    error Revoked(address owner, address agent);
    error Expired(uint64 expiresAt, uint256 blockTime);
    error ZeroAmount();
    error PerTxCapExceeded(uint128 amount, uint128 perTxCap);
    error CumulativeCapExceeded(uint128 paid, uint128 amount, uint128 cumulativeCap);
    error ReferenceUsed(bytes32 ref);
    error TransferFailed(address token);

    /// @notice Grant (or replace) the authority of `agent` over the caller's `token`. A grant
    /// starts afresh: nothing paid, not revoked.
    function grant(
        address agent,
        address token,
        address payee,
        uint128 perTxCap,
        uint128 cumulativeCap,
        uint64 expiresAt
    ) external {
        if (agent == address(0) || token == address(0) || payee == address(0)) {
            revert ZeroAddress();
        }
        if (perTxCap == 0 || perTxCap > cumulativeCap) {
            revert InvalidCaps(perTxCap, cumulativeCap);
        }
        if (expiresAt <= block.timestamp) revert ExpiryNotInFuture(expiresAt, block.timestamp);
        _authorities[msg.sender][agent] = Authority({
            token: token,
            expiresAt: expiresAt,
            revoked: false,
            payee: payee,
            perTxCap: perTxCap,
            cumulativeCap: cumulativeCap,
            paid: 0
        });
        emit AuthorityGranted(msg.sender, agent, payee, token, perTxCap, cumulativeCap, expiresAt);
    }

    /// @notice Revoke the authority of `agent`; no payment is accepted under it afterwards.
    /// Revoking twice succeeds, so that a retried revoke is harmless.
    function revoke(address agent) external {
        Authority storage authority = _authorities[msg.sender][agent];
        if (authority.token == address(0)) revert NoAuthority(msg.sender, agent);
        authority.revoked = true;
        emit AuthorityRevoked(msg.sender, agent);
    }

    /// @notice Pull `amount` of the authority's token from `owner` to the caller, who must be the
    /// authority's payee.
    function pay(address owner, address agent, uint128 amount, bytes32 ref) external {
        Authority storage authority = _authorities[owner][agent];
        if (_payments[owner][agent][ref].payee != address(0)) revert ReferenceUsed(ref);
        if (authority.token == address(0)) revert NoAuthority(owner, agent);
        if (msg.sender != authority.payee) revert NotPayee(msg.sender, authority.payee);
        if (authority.revoked) revert Revoked(owner, agent);
        if (block.timestamp >= authority.expiresAt) {
            revert Expired(authority.expiresAt, block.timestamp);
        }
        if (amount == 0) revert ZeroAmount();
        if (amount > authority.perTxCap) revert PerTxCapExceeded(amount, authority.perTxCap);
        uint128 paid = authority.paid;
        if (amount > authority.cumulativeCap - paid) {
            revert CumulativeCapExceeded(paid, amount, authority.cumulativeCap);
        }
        // Effects before the token call: a re-entering token sees the payment already counted.
        authority.paid = paid + amount;
        _payments[owner][agent][ref] =
            Payment({payee: msg.sender, blockNumber: uint64(block.number), amount: amount});
        address token = authority.token;
        _transferFrom(token, owner, msg.sender, amount);
        emit PaymentMade(ref, owner, agent, msg.sender, token, amount);
    }

    /// @notice The authority of `agent` under `owner` (all zero if there is none).
    function authorityOf(address owner, address agent) external view returns (Authority memory) {
        return _authorities[owner][agent];
    }

    /// @notice The payment made under (`owner`, `agent`) with reference `ref` (payee zero if none).
    function paymentOf(address owner, address agent, bytes32 ref)
        external
        view
        returns (Payment memory)
    {
        return _payments[owner][agent][ref];
    }

    /// @notice What the payee could pull in total right now: the cumulative cap left, bounded by
    /// the owner's balance and allowance; zero once revoked or expired.
    function spendable(address owner, address agent) external view returns (uint256) {
        Authority storage authority = _authorities[owner][agent];
        if (
            authority.token == address(0) || authority.revoked
                || block.timestamp >= authority.expiresAt
        ) {
            return 0;
        }
        uint256 left = authority.cumulativeCap - authority.paid;
        IERC20 token = IERC20(authority.token);
        uint256 balance = token.balanceOf(owner);
        uint256 allowance = token.allowance(owner, address(this));
        if (balance < left) left = balance;
        if (allowance < left) left = allowance;
        return left;
    }

    function _transferFrom(address token, address from, address to, uint256 amount) private {
        if (token.code.length == 0) revert TransferFailed(token);
        (bool ok, bytes memory ret) =
            token.call(abi.encodeCall(IERC20.transferFrom, (from, to, amount)));
        if (!ok) {
            // Bubble the token's own error (e.g. insufficient balance or allowance) unchanged.
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        // Tokens that return nothing on success are accepted; an explicit false is a refusal.
        if (ret.length != 0 && !abi.decode(ret, (bool))) revert TransferFailed(token);
    }
}

interface IERC20 {
    function balanceOf(address account) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}
