"""What people read: the trial tables (terminal, report.md), the HTML report with its plots, parameter importance."""
