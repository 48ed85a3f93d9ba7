"""Organization pages: my organizations, and one organization's members and skills."""
