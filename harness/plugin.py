"""pytest plugin (pytest11 entry point `android_harness`): options, fixtures, markers, report hooks."""
