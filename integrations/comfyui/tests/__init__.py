"""The node pack's tests (a package, so that its conftest is not taken for tastebud's own)."""
