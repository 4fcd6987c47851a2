"""Running student code: budgets and limits that apply inside the kernel."""
