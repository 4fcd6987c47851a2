"""Pages people read: each student's feedback, the class report, the written answers' sections."""
