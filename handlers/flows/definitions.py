"""The guided flows as data: their questions in order, who may use them, their tickets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Bounded

from handlers.flows import fields as f
from handlers.flows.fields import Field

COURSE_CREATION = "buat_mk"
ENROLLMENT = "enrollment_mk"
ACTIVATION = "aktivasi_akun"


class CourseCreationDetails(BaseModel):
    """The `course_creation` ticket's details, as the coordination contract fixes them."""

    model_config = ConfigDict(extra="forbid")

    faculty: str
    programme: str
    course_code: str
    course_name: str
    credits: int = Bounded(ge=1, le=6)
    semester: Literal["ganjil", "genap"]
    academic_year: str = Bounded(pattern=r"^\d{4}/\d{4}$")
    classes: list[str] = Bounded(min_length=1)
    students: int = Bounded(ge=1)
    nidn: str = Bounded(pattern=r"^\d{10}$")
    email: str


class EnrollmentDetails(BaseModel):
    """The `enrollment` ticket's details."""

    model_config = ConfigDict(extra="forbid")

    course_code: str
    course_name: str
    class_: str = Bounded(alias="class")
    semester: Literal["ganjil", "genap"]
    academic_year: str = Bounded(pattern=r"^\d{4}/\d{4}$")
    problem: str
    students: list[str]


class ActivationDetails(BaseModel):
    """The `activation` ticket's details."""

    model_config = ConfigDict(extra="forbid")

    nim: str
    name: str
    email: str
    programme: str
    person_id: int


@dataclass(frozen=True)
class Flow:
    """A form asked one field at a time (or all at once by email), then confirmed."""

    name: str  # also the knowledge-base topic it belongs to
    ticket_kind: str
    title_id: str
    title_en: str
    fields: tuple[Field, ...]
    intro: str  # text key shown before the first question
    details: type[BaseModel]
    lecturers_only: bool = True
    ask_first: bool = False  # the intro answers the question; the form only if still needed
    # Fields a linked lecturer's roster row fills in (field -> roster attribute).
    from_roster: tuple[tuple[str, str], ...] = ()

    def title(self, language: str) -> str:
        """The flow's name as the reader says it."""
        return self.title_en if language == "en" else self.title_id

    def field(self, name: str) -> Field:
        """A field by name (KeyError when it is not one of this flow's)."""
        for item in self.fields:
            if item.name == name:
                return item
        raise KeyError(name)

    def details_of(self, values: dict[str, Any]) -> dict[str, Any]:
        """The ticket details in the contract's shape, checked once more before they go."""
        model = self.details.model_validate(values)
        return model.model_dump(by_alias=True)


_SEMESTER = Field("semester", "Semester", "Semester", f.free_text(1, 20), choices=f.semesters)
_YEAR = Field("academic_year", "Tahun akademik", "Academic year", f.academic_year)
_CODE = Field("course_code", "Kode mata kuliah", "Course code", f.course_code)
_NAME = Field("course_name", "Nama mata kuliah", "Course name", f.free_text(3, 150))

FLOWS: dict[str, Flow] = {
    COURSE_CREATION: Flow(
        name=COURSE_CREATION,
        ticket_kind="course_creation",
        title_id="Pembuatan mata kuliah daring",
        title_en="Online course creation",
        intro="course_creation_intro",
        details=CourseCreationDetails,
        fields=(
            Field("faculty", "Fakultas", "Faculty", f.free_text(2, 100), choices=f.faculties),
            Field(
                "programme",
                "Program studi",
                "Study programme",
                f.free_text(2, 100),
                choices=f.programmes,
            ),
            _CODE,
            _NAME,
            Field("credits", "SKS", "Credits", f.whole_number(1, 6, "bad_credits")),
            _SEMESTER,
            _YEAR,
            Field("classes", "Kelas", "Classes", f.class_list),
            Field(
                "students",
                "Jumlah mahasiswa",
                "Number of students",
                f.whole_number(1, 1000, "bad_students_count"),
            ),
            Field("nidn", "NIDN", "NIDN", f.nidn),
            Field("email", "Email", "Email", f.email),
        ),
        from_roster=(("nidn", "number"), ("email", "email")),
    ),
    ENROLLMENT: Flow(
        name=ENROLLMENT,
        ticket_kind="enrollment",
        title_id="Enrollment mata kuliah daring",
        title_en="Online course enrollment",
        intro="enrollment_intro",
        details=EnrollmentDetails,
        ask_first=True,
        fields=(
            _CODE,
            _NAME,
            Field("class", "Kelas", "Class", f.one_class),
            _SEMESTER,
            _YEAR,
            Field("problem", "Kendala", "Problem", f.free_text(10, 1000)),
            Field("students", "Mahasiswa", "Students", f.student_list),
        ),
    ),
}

# The prompt text key of each field name (fields shared by flows share their prompt).
PROMPTS: dict[tuple[str, str], str] = {
    (ENROLLMENT, "students"): "ask_student_list",
    (COURSE_CREATION, "students"): "ask_students_count",
}


def prompt_key(flow: Flow, field: Field) -> str:
    """The text key that asks for `field` in `flow`."""
    return PROMPTS.get((flow.name, field.name), f"ask_{field.name}")


def shown(value: Any) -> str:
    """A stored answer as the summary shows it."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)
