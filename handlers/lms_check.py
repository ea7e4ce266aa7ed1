"""Checks against the LMS: the start-up check of the token, and a student's account state."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from handlers.lms_port import Lms, LmsError, LmsUser, SiteInfo
from handlers.lms_texts import missing_functions, plain_error, say

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    """What the start-up check found; `detail` is in plain words."""

    ok: bool
    detail: str
    site: SiteInfo | None = None


async def check_site(lms: Lms, *, timeout: float, language: str = "en") -> CheckResult:
    """core_webservice_get_site_info: does the token work, may it call every function we use?"""
    try:
        site = await lms.site_info()
    except LmsError as exc:
        return CheckResult(False, plain_error(exc, timeout=timeout, language=language))
    if site.missing:
        return CheckResult(False, missing_functions(site.missing, language=language), site)
    detail = f"{site.sitename} as {site.username}, {len(site.functions)} functions"
    return CheckResult(True, detail, site)


AccountStateName = Literal["exists", "suspended", "missing", "unknown"]


@dataclass(frozen=True)
class AccountState:
    """A student's LMS account as platform staff need to know it for an activation."""

    state: AccountStateName
    user: LmsUser | None = None
    error: str = ""

    def describe(self) -> str:
        """The state in plain Indonesian for the staff group (HTML-escaped)."""
        username = "" if self.user is None else self.user.username
        return say("id", f"state_{self.state}", username=username, error=self.error)


async def account_state(
    lms: Lms, *, email: str | None, nim: str | None, timeout: float
) -> AccountState:
    """Look the student up by email, then by NIM as username; never raises for LMS errors."""
    try:
        for field, value in (("email", email), ("username", nim)):
            if value:
                user = await lms.user_by(field, value.strip().lower())
                if user is not None:
                    return AccountState("suspended" if user.suspended else "exists", user)
    except LmsError as exc:
        logger.warning("LMS account check failed: %s", exc.errorcode)
        return AccountState("unknown", error=plain_error(exc, timeout=timeout))
    return AccountState("missing")
