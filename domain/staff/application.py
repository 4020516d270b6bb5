"""Staff users of one tenant (or of the office), on that tenant's own event store."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.shared.application import ContextApplication, Receipt, fold_events
from domain.staff.errors import StaffUsernameTakenError, StaffUserNotFoundError
from domain.staff.user import StaffUser, check_username

_TOPICS = [get_topic(cls) for cls in (StaffUser.Created, StaffUser.Disabled, StaffUser.Enabled,
                                      StaffUser.PasswordReset, StaffUser.RolesChanged)]


class StaffDirectory(ContextApplication):
    """A tenant's staff users: created, disabled, enabled, their passwords reset."""

    def create_user(self, username: str, display_name: str, roles: list[str], office: bool,
                    receipt: Receipt | None = None) -> StaffUser:
        """Records a new staff user; a username taken (even by a disabled user) is refused."""
        user = StaffUser.register(username, display_name, roles, office, self.clock())
        if self._exists(user.id):
            raise StaffUsernameTakenError(f"username {username!r} is taken in this tenant")
        try:
            return self._saved(receipt, user, user)
        except IntegrityError:
            raise StaffUsernameTakenError(f"username {username!r} is taken in this tenant"
                                          ) from None

    def get_user(self, username: str) -> StaffUser:
        """The staff user with this username."""
        check_username(username)
        return self.get_user_by_id(StaffUser.create_id(username), username)

    def get_user_by_id(self, user_id: UUID, name: str | None = None) -> StaffUser:
        """The staff user with this id."""
        try:
            user: StaffUser = self.repository.get(user_id)
        except AggregateNotFoundError:
            raise StaffUserNotFoundError(f"no staff user {name or str(user_id)!r} in this "
                                         "tenant") from None
        if not isinstance(user, StaffUser):
            raise StaffUserNotFoundError(f"no staff user {name or str(user_id)!r} in this tenant")
        return user

    def disable_user(self, username: str, receipt: Receipt | None = None) -> StaffUser:
        """Disables the user (recorded only when it was active)."""
        user = self.get_user(username)
        if user.disable(self.clock()):
            self._saved(receipt, user, user)
        return user

    def enable_user(self, username: str, receipt: Receipt | None = None) -> StaffUser:
        """Enables a disabled user."""
        user = self.get_user(username)
        if user.enable(self.clock()):
            self._saved(receipt, user, user)
        return user

    def note_password_reset(self, username: str, receipt: Receipt | None = None) -> StaffUser:
        """Records that the user's password was replaced."""
        user = self.get_user(username)
        user.reset_password(self.clock())
        return self._saved(receipt, user, user)

    def list_users(self) -> list[StaffUser]:
        """Every staff user of the store, by username, folded from the staff events only."""
        users: list[StaffUser] = fold_events(self, StaffUser, _TOPICS)
        return sorted(users, key=lambda u: u.username)

    def _exists(self, user_id: UUID) -> bool:
        try:
            self.repository.get(user_id)
        except AggregateNotFoundError:
            return False
        return True
