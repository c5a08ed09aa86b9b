// Reading a community from its chain: the manifest (deployments/<chainId>.json, as served next to the
// page), the published ABIs (@gridshare/client/contracts, js/: abi/*.json; bundled at build time) and
// the node's JSON-RPC. Read-only.
import { Contract, Interface, JsonRpcProvider } from "ethers";
import { abis as ABIS } from "@gridshare/client/contracts";

/** The events the members' pages read, per contract. */
const WANTED = {
  MeterRegistry: ["ParticipantRegistered", "MeterRegistered", "ReadingsVerified"],
  EnergyToken: ["SettledLocally", "Redeemed"],
  GuaranteeOfOrigin: ["CertificateIssued", "Claimed"],
  EnergyMarket: ["OrderPlaced", "Traded"],
  BatchAuction: ["BatchSettled"],
  Solidarity: ["Given"],
  CommunityGovernor: ["ProposalCreated"],
};

const ERC20 = ["function decimals() view returns (uint8)", "function symbol() view returns (string)"];

/** Plain `{name: value}` args of a parsed log (bytes as 0x hex, integers as bigint). */
function argsOf(fragment, result) {
  const out = {};
  fragment.inputs.forEach((input, i) => { out[input.name] = result[i]; });
  return out;
}

/**
 * Every wanted event of the community, decoded, in chain order: one eth_getLogs call per contract
 * (topics filtered by event), from its deployment block.
 */
export async function readEvents(provider, manifest) {
  const calls = Object.entries(WANTED).filter(([name]) => manifest.contracts[name]).map(async ([name, events]) => {
    const iface = new Interface(ABIS[name]);
    const { address, blockNumber } = manifest.contracts[name];
    const topics = events.map((e) => iface.getEvent(e).topicHash);
    const logs = await provider.getLogs({ address, topics: [topics], fromBlock: blockNumber, toBlock: "latest" });
    return logs.map((log) => {
      const parsed = iface.parseLog(log);
      return { name: parsed.name, args: argsOf(parsed.fragment, parsed.args), block: log.blockNumber, index: log.index };
    });
  });
  return (await Promise.all(calls)).flat().sort((a, b) => a.block - b.block || a.index - b.index);
}

const STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"];

/** An account's SolarReward tokens (whole SUN) and votes (CommunityVotes, in votes: 1,000,000 units). */
export async function holdings(community, manifest, account) {
  const contract = (name) => new Contract(manifest.contracts[name].address, ABIS[name], community.provider);
  const [sun, votes] = await Promise.all([contract("SolarReward").balanceOf(account), contract("CommunityVotes").getVotes(account)]);
  return { sun: Number(sun / 10n ** 18n), votes: Number(votes) / 1e6 };
}

/** The treasury: its balance in the payment token, and every proposal with its state and votes. */
export async function treasuryOf(community, manifest) {
  const governor = new Contract(manifest.contracts.CommunityGovernor.address, ABIS.CommunityGovernor, community.provider);
  const payment = new Contract(manifest.settings.market.paymentToken, ["function balanceOf(address) view returns (uint256)"], community.provider);
  const created = community.events.filter((e) => e.name === "ProposalCreated");
  const proposals = await Promise.all(created.map(async (e) => {
    const id = e.args.proposalId;
    const [state, [against, forVotes, abstain]] = await Promise.all([governor.state(id), governor.proposalVotes(id)]);
    return { id: Number(id), description: e.args.description, state: STATES[Number(state)],
             for: Number(forVotes) / 1e6, against: Number(against) / 1e6, abstain: Number(abstain) / 1e6 };
  }));
  return { balance: await payment.balanceOf(manifest.contracts.CommunityTreasury.address), proposals };
}

/** The community: its provider, events, members (the operation's view) and payment token. */
export async function loadCommunity(manifest, rpcUrl) {
  const provider = new JsonRpcProvider(rpcUrl, manifest.chainId, { staticNetwork: true });
  const contract = (name) => new Contract(manifest.contracts[name].address, ABIS[name], provider);
  const payment = new Contract(manifest.settings.market.paymentToken, ERC20, provider);
  const [events, members, decimals, symbol] = await Promise.all([
    readEvents(provider, manifest),
    contract("SelfConsumption").members(),
    payment.decimals(),
    payment.symbol(),
  ]);
  return {
    provider,
    events,
    members: members.map((m) => ({ meterId: m.meterId, account: m.account.toLowerCase(), fromInterval: Number(m.fromInterval),
                                   untilInterval: Number(m.untilInterval) })),
    payment: { decimals: Number(decimals), symbol },
  };
}
