"""The consortium tenant directory: what /admin/tenants lists."""
