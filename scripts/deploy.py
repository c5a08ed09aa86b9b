"""Deploy MeterRegistry, EnergyToken and GuaranteeOfOrigin (three contracts, linked) with brownie:
`brownie run scripts/deploy.py [--network ID]`.

On the default `development` network (anvil, started by brownie) the deployer is the first anvil
dev account. gridshare's own deployments (manifests in deployments/) come from `gridshare deploy`.
"""

from brownie import EnergyToken, GuaranteeOfOrigin, MeterRegistry, accounts

INTERVAL_SECONDS = 900
EXPIRY_MONTHS = 12
ADMIN_DELAY = 0  # a development network: admin transfers need no wait


def main():
    deployer = accounts[0]
    registry = MeterRegistry.deploy(INTERVAL_SECONDS, deployer, ADMIN_DELAY, {"from": deployer})
    token = EnergyToken.deploy(registry, "", {"from": deployer})
    registry.setEnergyToken(token, {"from": deployer})
    guarantees = GuaranteeOfOrigin.deploy(registry, deployer, deployer, EXPIRY_MONTHS, "", ADMIN_DELAY,
                                          {"from": deployer})
    registry.grantRole(registry.CERTIFIER_ROLE(), guarantees, {"from": deployer})
    print(f"MeterRegistry:     {registry.address}")
    print(f"EnergyToken:       {token.address}")
    print(f"GuaranteeOfOrigin: {guarantees.address}")
    return registry, token, guarantees
