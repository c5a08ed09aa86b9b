"""Deploy MeterRegistry and EnergyToken with brownie: `brownie run scripts/deploy.py [--network ID]`.

On the default `development` network (anvil, started by brownie) the deployer is the first anvil
dev account. gridshare's own deployments (manifests in deployments/) come from `gridshare deploy`.
"""

from brownie import EnergyToken, MeterRegistry, accounts

INTERVAL_SECONDS = 900


def main():
    deployer = accounts[0]
    registry = MeterRegistry.deploy(INTERVAL_SECONDS, deployer, {"from": deployer})
    token = EnergyToken.deploy(registry, "", {"from": deployer})
    registry.setEnergyToken(token, {"from": deployer})
    print(f"MeterRegistry: {registry.address}")
    print(f"EnergyToken:   {token.address}")
    return registry, token
