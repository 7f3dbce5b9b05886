"""Generation metadata out of image files; folder import and watch."""
