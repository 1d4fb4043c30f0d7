from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "lifecycle"

    def ready(self) -> None:
        """Clocks move inside the waist's own UPDATE, so leads never imports this layer."""
        from leads.services import transition_hook_register
        from lifecycle.clocks import lead_clocks_on_transition

        transition_hook_register(lead_clocks_on_transition)
