// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ICommunityGovernor: what gridshare adds to OpenZeppelin's Governor for the treasury
/// @notice The community treasury's governance is OpenZeppelin `Governor` (its functions, events
/// and errors: `propose`, `castVote`, `queue`, `execute`, `ProposalCreated`, `VoteCast`,
/// `GovernorUnexpectedProposalState`...) over the members' `CommunityVotes`, with the
/// `CommunityTreasury` timelock as executor, proposals numbered 1, 2, 3... (OpenZeppelin
/// `GovernorSequentialProposalId`: `latestProposalId()`). Its clock is the vote token's: unix seconds
/// (ERC-6372 "mode=timestamp"), so `votingDelay()`, `votingPeriod()`, `proposalSnapshot()` and
/// `proposalDeadline()` are seconds and times. One rule is gridshare's own: a vote must carry
/// weight.
interface ICommunityGovernor {
    /// @notice `account` had no votes at the proposal's snapshot `snapshot` (a unix time): a vote
    /// of no weight would only mark it as having voted. Its meters must be synced
    /// (`CommunityVotes.sync`) before a proposal's snapshot to count in it.
    error CommunityGovernorNoVotes(uint256 proposalId, address account, uint256 snapshot);
}
