"""Grading students' answers against the verified key (issue 8 builds it out)."""
