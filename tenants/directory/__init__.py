"""The consortium office's tenant directory: a read model of the Tenant events."""
