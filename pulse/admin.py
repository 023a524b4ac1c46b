"""Nothing of the pulse is in the admin, on purpose.

A list of ``PulseResponse`` rows would show one person's answers (and comment) in a store of
three; a list of ``PulseParticipation`` rows would show who answered. The pulse is read only
as group figures (``pulse.selectors``) and HQ's comments page, both under ``MIN_GROUP``."""
