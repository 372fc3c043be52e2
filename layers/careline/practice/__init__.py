"""The practice's calendar: business hours, US holidays and closures, in the practice timezone."""
