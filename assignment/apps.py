from django.apps import AppConfig


class AssignmentConfig(AppConfig):
    name = "assignment"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from assignment.models import AssignmentRule, RuleSet, RuleTarget
        from assignment.selectors import rules_cache_clear

        # Cache invalidation only (no business logic): see assignment.selectors.rules_for_trigger.
        for model in (RuleSet, AssignmentRule, RuleTarget):
            post_save.connect(
                rules_cache_clear, sender=model, dispatch_uid=f"rules_cache_clear_save_{model.__name__}"
            )
            post_delete.connect(
                rules_cache_clear, sender=model, dispatch_uid=f"rules_cache_clear_del_{model.__name__}"
            )
