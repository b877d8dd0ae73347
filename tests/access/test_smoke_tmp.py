from factories import add_patient, add_pro, patient_ctx, pro_ctx, upload

from carnet.records.service import list_documents


def test_doc_5_author_sees_upload(rt):
    patient = add_patient(rt)
    pro = add_pro(rt)
    doc = upload(rt, pro_ctx(pro), patient)
    _, docs = list_documents(rt, pro_ctx(pro), patient.id)
    assert [d.id for d in docs] == [doc.id]
    _, docs = list_documents(rt, patient_ctx(patient), patient.id)
    assert [d.id for d in docs] == [doc.id]
