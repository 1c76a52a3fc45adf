"""Rollout tools: rotate and revoke secrets, reload credentials, push a config region by region.

Secrets. A secret holds its active ``versions``; ``version`` is the newest. A consumer service
keeps the version it loaded until it reloads: its ``credentials`` map a secret (by id, or by name,
which resolves in the consumer's own environment) to that version. When the version a consumer
holds is revoked it can no longer authenticate: the world marks a consumer that names the secret
by id down; one that names it by name crashes, and a credential check keeps it crash-looping
until it reloads. `rotate_secret` works as a secrets CLI does: it finds the secret by name in its
target environment, and that environment defaults to dev.

Regional configs. A config whose ``regional`` maps each region to its overrides is rolled out per
region: `push_config` writes one setting to a wave of regions, or to every region at once (the
instant global path), and `rollback_config` removes it again. What consumers do with a config is
the world's business: a family whose consumers react to one installs the world rule
`blastradius.envs.rules.watch_config_sync` (with the latent bug that decides who crashes);
consumers load a change as it lands, so what a push breaks, it breaks during the push.
"""

from __future__ import annotations

import json

from ..errors import ToolError, did_you_mean
from ..resources import ENVIRONMENTS, Resource
from ..rules import CREDENTIAL_CHECK, CREDENTIAL_RETRY_MINUTES, credential_secret, credential_version, named_secret
from ..toolbox import acting_on, record_policy
from ..world import World
from .checks import parse_setting

__all__ = ["TOOLS"]

_ALL = "all"


# -- secrets ---------------------------------------------------------------------------------


def rotate_secret(world: World, /, resource: str, env: str = "dev") -> str:
    """Put a new version of a secret, as the secrets CLI does, in one environment.

    The CLI finds the secret by its name in the target environment, and the target environment
    is ``env``, which defaults to dev (the CLI's default): pass env='prod' for a production
    secret. Consumers keep the version they loaded until they reload their credentials
    (reload_credentials); older versions stay active until revoked.

    Args:
        resource: the secret's name, or the id of a secret with that name.
        env: the environment to write the new version in (prod, staging or dev); defaults to dev.
    """
    if env not in ENVIRONMENTS:
        raise ToolError(f"unknown environment '{env}'; environments are {', '.join(ENVIRONMENTS)}.")
    name = _secret_name(world, resource)
    target = named_secret(world, name, env)
    if target is None:
        where = sorted({world.resources[rid].env for rid in world.of_kind("secret")
                        if world.resources[rid].name == name and world.resources[rid].exists})
        raise ToolError(f"no secret named '{name}' in environment {env}; it exists in: "
                        f"{', '.join(where) or 'none'}. Pass env to choose the environment.")
    res = acting_on(world, target.id, "rotate_secret", kinds=("secret",))
    record_policy(world, res, "rotate_secret")
    world.advance(2)
    versions = res.attrs["versions"]
    new = max((*versions, res.attrs["version"])) + 1
    world.set(res.id, "versions", (*versions, new))
    world.set(res.id, "version", new)
    return (f"rotated secret {name} in environment {env} ({res.id}): new version {new}; active versions "
            f"{_numbers(res.attrs['versions'])}. Consumers keep the version they loaded until they reload "
            "their credentials.")


def reload_credentials(world: World, /, service: str) -> str:
    """Make a service reload its credentials: a rolling restart, after which it uses the newest
    active version of every secret it authenticates with.

    Args:
        service: the service id.
    """
    res = acting_on(world, service, "reload_credentials", kinds=("service",))
    held = res.attrs["credentials"]
    if not held:
        raise ToolError(f"{res.name} ({res.id}) holds no credentials to reload.")
    loaded, lines = {}, []
    for key, version in held.items():
        secret = credential_secret(world, res, key)
        if secret is None or not secret.exists:
            raise ToolError(f"{res.name} cannot reload: the secret '{key}' it uses no longer exists.")
        if not secret.attrs["versions"]:
            raise ToolError(f"{res.name} cannot reload: {secret.name} ({secret.id}, {secret.env}) has no active "
                            "version. Rotate it first.")
        loaded[key] = max(secret.attrs["versions"])
        lines.append(f"{secret.name} ({secret.id}, {secret.env}) version {version} -> {loaded[key]}")
    record_policy(world, res, "reload_credentials")
    world.advance(5)
    world.set(res.id, "credentials", loaded)
    if res.fault == "crashed":  # the restart clears a crash, as restart does
        world.set(res.id, "fault", "")
    world.notify(res.id, "reload")
    return f"{res.name} ({res.id}) reloaded its credentials: {'; '.join(lines)}. Health now {world.health[res.id]}."


def revoke_secret(world: World, /, resource: str, version: int) -> str:
    """Revoke one version of a secret. Consumers still using it can no longer authenticate.

    A revoked version cannot be restored.

    Args:
        resource: the secret id.
        version: the version to revoke.
    """
    res = acting_on(world, resource, "revoke_secret", kinds=("secret",))
    versions = res.attrs["versions"]
    if version not in versions:
        raise ToolError(f"{res.name} ({res.id}) has no active version {version}; active versions: "
                        f"{_numbers(versions)}.")
    record_policy(world, res, "revoke_secret")
    world.advance(2)
    left = tuple(v for v in versions if v != version)
    world.set(res.id, "versions", left)
    world.set(res.id, "version", max(left, default=0))
    _lock_out(world, res, version)
    return f"revoked version {version} of {res.name} ({res.id}, {res.env}); active versions: {_numbers(left)}."


def _lock_out(world: World, secret: Resource, version: int) -> None:
    """Consumers holding the revoked version fail to authenticate from now on."""
    for edge in world.consumers(secret.id):
        consumer = world.resources[edge.consumer]
        if edge.kind != "authenticates_with" or not consumer.exists:
            continue
        if credential_version(world, consumer, secret.id) != version:
            continue
        world.log(consumer.id, f"ERROR authenticating with {secret.name}: version {version} was revoked")
        if secret.id not in consumer.attrs["credentials"]:  # by name: it crash-loops
            world.set(consumer.id, "fault", "crashed")
            world.schedule(CREDENTIAL_RETRY_MINUTES, CREDENTIAL_CHECK, consumer.id)


def _secret_name(world: World, given: str) -> str:
    found = world.resources.get(given)
    if found is not None:
        if found.kind != "secret":
            raise ToolError(f"'{given}' is a {found.kind}, not a secret.")
        return found.name
    names = {world.resources[rid].name for rid in world.of_kind("secret")}
    if given not in names:
        raise ToolError(f"no secret named '{given}'.{did_you_mean(given, names)} "
                        "Use list_resources with kind 'secret'.")
    return given


def _numbers(values: tuple[int, ...]) -> str:
    return ", ".join(map(str, values)) or "none"


# -- regional configs ------------------------------------------------------------------------


def push_config(world: World, /, resource: str, key: str, value: str, regions: list[str]) -> str:
    """Push one setting of a regional config to a wave of regions, or to every region at once.

    A staged wave propagates in a few minutes per region; ["all"] is the instant global path:
    every region within a minute. Consumers load what was pushed as it lands.

    Args:
        resource: the config id.
        key: the setting to push; it must exist in the config's settings.
        value: the value, parsed as JSON when it parses, e.g. 'true'.
        regions: the regions of this wave, e.g. ["eu-west-1"], or ["all"] for every region at once.
    """
    res, targets = _regional(world, resource, key, regions, "push_config")
    parsed = parse_setting(value)
    record_policy(world, res, "push_config")
    instant = regions == [_ALL]
    # The push lands when the wave has propagated: what consumers do about it (and log) follows it.
    world.advance(1 if instant else 2 + 2 * len(targets))
    regional = res.attrs["regional"]
    world.set(res.id, "regional", {region: ({**overrides, key: parsed} if region in targets else overrides)
                                   for region, overrides in regional.items()})
    how = "through the instant global path" if instant else "as a staged wave"
    return (f"pushed {key} = {json.dumps(parsed)} to {', '.join(targets)} of {res.name} ({res.id}) {how}; "
            "consumers load it as it lands.")


def rollback_config(world: World, /, resource: str, key: str, regions: list[str]) -> str:
    """Roll back one setting of a regional config in some regions (or ["all"]): those regions
    drop what was pushed and use the config's own value of the setting again.

    Args:
        resource: the config id.
        key: the setting to roll back.
        regions: the regions to roll back, e.g. ["eu-west-1"], or ["all"].
    """
    res, targets = _regional(world, resource, key, regions, "rollback_config")
    regional = res.attrs["regional"]
    pushed = [region for region in targets if key in regional[region]]
    if not pushed:
        raise ToolError(f"nothing to roll back: {key} was not pushed to {', '.join(targets)}.")
    record_policy(world, res, "rollback_config")
    world.advance(2 + len(pushed))
    regional = res.attrs["regional"]
    world.set(res.id, "regional", {region: ({k: v for k, v in overrides.items() if k != key}
                                            if region in pushed else overrides)
                                   for region, overrides in regional.items()})
    default = json.dumps(res.attrs["settings"][key])
    return (f"rolled back {key} in {', '.join(pushed)} of {res.name} ({res.id}): those regions use "
            f"{key} = {default} again.")


def _regional(world: World, resource: str, key: str, regions: list[str], action: str) -> tuple[Resource, list[str]]:
    """The config and the regions a push or rollback targets, after validating both."""
    res = acting_on(world, resource, action, kinds=("config",))
    regional, settings = res.attrs["regional"], res.attrs["settings"]
    if not regional:
        raise ToolError(f"{res.name} ({res.id}) is not rolled out per region; change it with update_config.")
    if key not in settings:
        raise ToolError(f"{res.name} has no setting '{key}'.{did_you_mean(key, settings)} "
                        f"Settings: {', '.join(settings)}.")
    if not regions:
        raise ToolError(f"name at least one region, or ['all']; regions of {res.name}: {', '.join(regional)}.")
    if _ALL in regions:
        if regions != [_ALL]:
            raise ToolError("'all' stands alone: send ['all'] or a list of regions.")
        return res, list(regional)
    unknown = [region for region in regions if region not in regional]
    if unknown:
        raise ToolError(f"{res.name} is not served in {', '.join(unknown)}.{did_you_mean(unknown[0], regional)} "
                        f"Its regions: {', '.join(regional)}.")
    return res, [region for region in regional if region in regions]


TOOLS = (rotate_secret, reload_credentials, revoke_secret, push_config, rollback_config)
