"""Permissions of the life-cycle layer. Stages and policies are edited by managers in the admin;
working a lead's stage is leads.change_lead (leads/rules.py)."""

import rules

from crm.rules import is_manager

rules.add_perm("lifecycle", is_manager)
