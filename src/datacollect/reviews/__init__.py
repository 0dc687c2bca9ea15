"""Reviews (DESIGN §8): nothing goes on until a person has looked at it.

* ``models``      the tables: teams, team members, review items, their trail and comments;
* ``teams``       teams and who is in them; which items a user may see;
* ``assignment``  the strategies: a named user, a team, round-robin, least-loaded;
* ``queue``       putting items in a queue, listing them with counts, claiming (two reviewers
                  never get the same item), reassigning, and escalating when the SLA passes;
* ``decisions``   approve, reject, request changes, edit with a reason, bulk decisions;
* ``trail``       the append-only trail of every item (who, when, what, before, after, why);
* ``comments``    reviewers' notes and per-field comments;
* ``metrics``     items per status, time to first review and to decision, approval rates;
* ``service``     what ties reviews to the platform: the Review node's port, the scheduler's
                  tick (escalations, decisions not yet told), and resubmitted form responses.

Services are plain functions ``(session, ...)``; they never import FastAPI.
"""
