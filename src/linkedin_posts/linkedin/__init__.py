"""LinkedIn's wire formats: little text and the Posts API body."""
