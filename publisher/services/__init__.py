"""Use cases. The only code that commits; failures raise services.errors.*."""
