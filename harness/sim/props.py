"""Android's property service for one virtual device."""

from __future__ import annotations

from typing import Callable

Watcher = Callable[[str, str], None]


class PropertyService:
    """Name -> value, with Android's rules: `ro.*` is write-once, values are strings.

    Watchers are called synchronously on every change so the model can react (e.g. init
    reacting to `ctl.start`) and waiters can be woken without polling.
    """

    MAX_VALUE = 91  # PROP_VALUE_MAX - 1 on Android <= 7; kept for every version (ro.* exempt on 8+)

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(initial or {})
        self._watchers: list[Watcher] = []

    def get(self, name: str, default: str = "") -> str:
        return self._values.get(name, default)

    def set(self, name: str, value: str, *, force: bool = False) -> bool:
        """Set a property as init does; False when Android would refuse it."""
        if not force and name.startswith("ro.") and name in self._values:
            return False
        if not force and not name.startswith("ro.") and len(value) > self.MAX_VALUE:
            return False
        old = self._values.get(name)
        self._values[name] = value
        if old != value:
            for watcher in list(self._watchers):
                watcher(name, value)
        return True

    def delete(self, name: str) -> None:
        self._values.pop(name, None)

    def items(self) -> list[tuple[str, str]]:
        return sorted(self._values.items())

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher) if watcher in self._watchers else None
