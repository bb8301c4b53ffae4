"""The working-day calendar: the reference calendar plus the admin's override table."""
