"""Who may move a lead between owners: claim from a pool, release, recall, transfer.

Reps claim from pools open to them and release their own assigned leads; managers and team
leads (for their own team) recall and transfer. With obj=None ("may this user recall at all?")
managers and team leads answer yes, so menus and admin actions can be shown.
"""

from __future__ import annotations

import rules

from crm.rules import is_manager, is_rep, is_team_lead, no_object
from leads.rules import lead_in_led_team, lead_in_open_pool, lead_is_workable, owns_lead

can_claim_lead = is_rep & lead_in_open_pool
can_release_lead = is_rep & owns_lead & lead_is_workable
can_recall_lead = is_manager | (is_team_lead & (no_object | lead_in_led_team))
can_transfer_lead = can_recall_lead

rules.add_perm("leads.claim_lead", can_claim_lead)
rules.add_perm("leads.release_lead", can_release_lead)
rules.add_perm("leads.recall_lead", can_recall_lead)
rules.add_perm("leads.transfer_lead", can_transfer_lead)

rules.add_perm("assignment", is_manager)
