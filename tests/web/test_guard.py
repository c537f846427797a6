"""The guard's own rules, without a server: when the page may be served with nobody to
sign in, which proxies are believed, and whose address a request comes from."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from stream_app.domain.access import Scope, User
from stream_app.web.guard import Guard
from stream_app.web.serving import Unprotected, check_protected, is_loopback, networks
from stream_app.web.sessions import SessionCodec
from stream_app.web.throttle import Throttle


class Nobody:
    """An empty user file."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    def get(self, name: str) -> User | None:
        return User(name, Scope.everything(), "s") if self.enabled else None

    def verify(self, name: str, password: str):  # pragma: no cover - not asked here
        raise AssertionError

    def by_token(self, token: str) -> User | None:
        return None

    def any_enabled(self) -> bool:
        return self.enabled


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_on_loopback_the_page_may_start_with_nobody_to_sign_in(bind: str):
    assert is_loopback(bind)
    check_protected(bind, Nobody(), "var/users.json")


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "10.1.2.3", "page.example"])
def test_beyond_loopback_with_nobody_to_sign_in_the_page_refuses_to_start(bind: str):
    with pytest.raises(Unprotected) as refused:
        check_protected(bind, Nobody(), "var/users.json")
    assert str(refused.value).startswith(f"the live page would listen on {bind} (DOSSIER_WEB_BIND) and nobody can "
                                         "sign in: add the first user with `dossier-stream users add NAME --all`")


def test_beyond_loopback_one_enabled_user_is_enough():
    check_protected("0.0.0.0", Nobody(enabled=True), "var/users.json")


def test_trusted_proxies_are_addresses_or_networks():
    assert [str(n) for n in networks(" 172.30.66.10, 10.0.0.0/8 ,")] == ["172.30.66.10/32", "10.0.0.0/8"]
    with pytest.raises(ValueError, match="DOSSIER_WEB_TRUSTED_PROXIES"):
        networks("proxy.example")


def guard(proxies: str = "") -> Guard:
    return Guard(Nobody(), SessionCodec("k" * 40, 3600), per_user=Throttle(5, 900), per_address=Throttle(20, 900),
                 trusted_proxies=networks(proxies))


def request(peer: str, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    req = make_mocked_request("POST", "/login", headers=headers)
    return req.clone(remote=peer)


def test_without_a_trusted_proxy_the_address_is_the_peers_whatever_it_claims():
    assert guard().client_address(request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_address_is_the_last_untrusted_hop():
    g = guard("172.30.66.10, 10.0.0.0/8")
    assert g.client_address(request("172.30.66.10", "198.51.100.1, 203.0.113.5, 10.1.1.1")) == "203.0.113.5"
    assert g.client_address(request("172.30.66.10")) == "172.30.66.10"


@pytest.mark.parametrize("headers, same", [
    ({}, True),
    ({"Sec-Fetch-Site": "same-origin"}, True),
    ({"Sec-Fetch-Site": "cross-site"}, False),
    ({"Sec-Fetch-Site": "same-site"}, False),
    ({"Origin": "http://page.example"}, True),
    ({"Origin": "https://elsewhere.example"}, False),
    ({"Origin": "null"}, False),
])
def test_a_state_change_must_come_from_this_site(headers: dict[str, str], same: bool):
    req = make_mocked_request("POST", "/logout", headers={"Host": "page.example", **headers})
    assert Guard.same_site(req) is same
