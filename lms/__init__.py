"""The LMS adapter: Moodle's REST web services behind `handlers.lms_port.Lms`."""
