// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorSequentialProposalId} from
    "@openzeppelin/contracts/governance/extensions/GovernorSequentialProposalId.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {ICommunityGovernor} from "./interfaces/ICommunityGovernor.sol";

/// @title CommunityGovernor
/// @notice The members govern the community treasury (`CommunityTreasury`): a member with at
/// least `proposalThreshold()` votes proposes calls of the treasury (a payout: the payment token's
/// `transfer`); after `votingDelay()` seconds, members vote for, against or abstain during
/// `votingPeriod()` seconds, each with its `CommunityVotes` at the proposal's snapshot; a
/// proposal passes with more for than against and for + abstain at least `quorum`
/// (`quorumNumerator()` percent of all votes at the snapshot); it is then queued in the
/// treasury and executed by anyone after the treasury's delay.
/// @dev OpenZeppelin `Governor` with `GovernorSettings`, `GovernorCountingSimple`,
/// `GovernorVotes` (the clock is the vote token's: timestamps), `GovernorVotesQuorumFraction`,
/// `GovernorTimelockControl` and `GovernorSequentialProposalId` (proposals are numbered 1, 2, 3...). Settings change only through an executed proposal. A vote of no
/// weight is refused (`CommunityGovernorNoVotes`).
contract CommunityGovernor is
    ICommunityGovernor,
    Governor,
    GovernorSettings,
    GovernorSequentialProposalId,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl
{
    /// @param votes the `CommunityVotes` token
    /// @param treasury the `CommunityTreasury` (timelock) this governor proposes to
    /// @param votingDelay_ seconds from a proposal to its snapshot and the start of its vote
    /// @param votingPeriod_ seconds the vote lasts
    /// @param proposalThreshold_ votes (token units) a proposer needs
    /// @param quorumPercent share of all votes at the snapshot that must vote for or abstain
    constructor(
        IVotes votes,
        TimelockController treasury,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumPercent
    )
        Governor("gridshare CommunityGovernor")
        GovernorSettings(votingDelay_, votingPeriod_, proposalThreshold_)
        GovernorVotes(votes)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorTimelockControl(treasury)
    {}

    /// @dev A vote must carry weight: OpenZeppelin counts a vote of 0 (it only marks the voter).
    function _countVote(uint256 proposalId, address account, uint8 support, uint256 totalWeight, bytes memory params)
        internal
        override(Governor, GovernorCountingSimple)
        returns (uint256)
    {
        if (totalWeight == 0) revert CommunityGovernorNoVotes(proposalId, account, proposalSnapshot(proposalId));
        return super._countVote(proposalId, account, support, totalWeight, params);
    }

    // ------------------------------------------------------------------------------------------
    // The overrides Solidity requires (each resolves to its extension's behaviour)
    // ------------------------------------------------------------------------------------------

    function getProposalId(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) public view override(Governor, GovernorSequentialProposalId) returns (uint256) {
        return super.getProposalId(targets, values, calldatas, descriptionHash);
    }

    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal override(Governor, GovernorSequentialProposalId) returns (uint256) {
        return super._propose(targets, values, calldatas, description, proposer);
    }

    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
