"""Deploy MeterRegistry, EnergyToken and GuaranteeOfOrigin (three contracts, linked) with brownie:
`brownie run scripts/deploy.py [--network ID]`.

On the default `development` network (anvil, started by brownie) the deployer is the first anvil
dev account. gridshare's own deployments (manifests in deployments/) come from `gridshare deploy`.
"""

from brownie import EnergyToken, GuaranteeOfOrigin, MeterRegistry, accounts

INTERVAL_SECONDS = 900
EXPIRY_MONTHS = 12


def main():
    deployer = accounts[0]
    registry = MeterRegistry.deploy(INTERVAL_SECONDS, deployer, {"from": deployer})
    token = EnergyToken.deploy(registry, "", {"from": deployer})
    registry.setEnergyToken(token, {"from": deployer})
    guarantees = GuaranteeOfOrigin.deploy(registry, deployer, deployer, EXPIRY_MONTHS, "", {"from": deployer})
    print(f"MeterRegistry:     {registry.address}")
    print(f"EnergyToken:       {token.address}")
    print(f"GuaranteeOfOrigin: {guarantees.address}")
    return registry, token, guarantees
