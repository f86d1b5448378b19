"""The admin's rules: accounts and roles (`users`), categories (`categories`), villages and stations (`places`)."""
