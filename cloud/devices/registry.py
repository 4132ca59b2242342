"""Device identity: broker credentials (Mosquitto password file) and an HTTP token (hashed in the
devices table). Adding prints everything the device needs once; nothing secret is stored in clear.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine

from cloud.auth.tokens import DEVICE_PREFIX, hash_token, new_token
from cloud.config import BrokerAdminConfig
from cloud.db import session_scope
from cloud.db.models import Device
from cloud.db.write import ensure_sites_devices
from cloud.devices.broker import RESERVED_IDS, BrokerFiles, passwd
from edge.contract import DEVICE_ID_RE, utcnow

log = logging.getLogger(__name__)


@dataclass
class Enrolment:
    device_id: str
    site: str
    broker_password: str
    token: str


def check_id(device_id: str) -> None:
    if not DEVICE_ID_RE.match(device_id):
        raise ValueError("device id must be 1-64 of a-z 0-9 _ - and start with a letter or digit")
    if device_id in RESERVED_IDS:
        raise ValueError(f"device id {device_id!r} is reserved for cloud services or fleet topics")


def add_device(engine: Engine, files: BrokerFiles, device_id: str, site: str) -> Enrolment:
    """Create (or re-key) a device: new broker password and HTTP token, revocation cleared."""
    check_id(device_id)
    if not site.strip():
        raise ValueError("site must not be empty")
    password = secrets.token_urlsafe(24)
    token = new_token(DEVICE_PREFIX)
    with session_scope(engine) as s:
        ensure_sites_devices(s, [(device_id, site)])
        dev = s.get(Device, device_id)
        assert dev is not None
        dev.site_id = site
        dev.token_hash = hash_token(token)
        dev.revoked_at = None
    # The database row first: a device with a token but no broker password can be re-added; the
    # other way round would leave a broker user nobody knows about.
    passwd(files, device_id, password)
    log.info("device %s added at site %s", device_id, site)
    return Enrolment(device_id, site, password, token)


def revoke_device(engine: Engine, files: BrokerFiles, device_id: str) -> bool:
    """Remove the device's broker user and token; its stored results stay. False if unknown."""
    check_id(device_id)
    passwd(files, device_id, None)
    with session_scope(engine) as s:
        dev = s.get(Device, device_id)
        if dev is None:
            return False
        dev.token_hash = None
        dev.revoked_at = utcnow()
        dev.online = False
    log.info("device %s revoked", device_id)
    return True


def config_snippet(e: Enrolment, broker: BrokerAdminConfig) -> str:
    """The device's settings (YAML) and its two secrets (environment), ready to paste."""
    return f"""\
# /etc/signet/edge.yaml (excerpt)
device:
  id: {e.device_id}
  site: {e.site}
sync:
  broker:
    host: {broker.host}
    port: {broker.port}
    username: {e.device_id}
    password_file: /etc/signet/credentials/broker-password
    tls: true
    ca_file: /etc/signet/ca.crt
  cloud_url: {broker.cloud_url}
  token_file: /etc/signet/credentials/device-token

# secrets, shown once (write them to the files above, mode 0600):
#   broker-password: {e.broker_password}
#   device-token:    {e.token}
# copy the CA certificate: {broker.dir}/tls/ca.crt -> /etc/signet/ca.crt
"""
