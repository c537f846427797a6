"""The lifecycles a user starts: `run` (a file), `worker` (live), `replay` (any feed,
paced, resumable), `rebuild` (after a rule change) and `report`. `stack` builds a
streaming job's collaborators once, in the order an event meets them, and passes each
to the next; `until` is the one run-until-done wait; `rules` reads the rules in force;
`mail` is the live worker's dispatcher rounds and morning digest.
May import: every adapter (`kafka`, `store`, `notify`, `web`, `report`, `replay`),
`core` and below.
"""
