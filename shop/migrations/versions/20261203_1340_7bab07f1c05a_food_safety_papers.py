"""food-safety papers (#23): a category's food class, product documents and their expiry reminders

`categories.food_class` says which documents a product needs (catalog/papers.py, docs/papers.md);
existing categories are farm produce (a 合格证) except the processed ones the 2017 plan names
(pickles, cured poultry, rice: an SC licence and a test report).

Revision ID: 7bab07f1c05a
Revises: c3a9e7f21d48
Create Date: 2026-12-03 13:21:26.428445

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7bab07f1c05a'
down_revision = 'c3a9e7f21d48'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('product_documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('issuer', sa.String(length=80), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('file_path', sa.String(length=255), nullable=False),
    sa.Column('file_type', sa.String(length=8), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decision_note', sa.String(length=255), nullable=False),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('uploaded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("file_type IN ('pdf','jpeg','png')", name=op.f('ck_product_documents_file_type_valid')),
    sa.CheckConstraint("kind IN ('compliance_certificate','production_licence','test_report')", name=op.f('ck_product_documents_kind_valid')),
    sa.CheckConstraint("status IN ('pending','approved','rejected')", name=op.f('ck_product_documents_status_valid')),
    sa.CheckConstraint('valid_until >= valid_from', name=op.f('ck_product_documents_validity_order')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_product_documents_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_documents_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_product_documents_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_documents'))
    )
    with op.batch_alter_table('product_documents', schema=None) as batch_op:
        batch_op.create_index('ix_product_documents_product_kind', ['product_id', 'kind', 'status'], unique=False)

    op.create_table('document_reminders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['product_documents.id'], name=op.f('fk_document_reminders_document_id_product_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_reminders')),
    sa.UniqueConstraint('document_id', 'days_before', name='uq_document_reminders_document_days')
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('food_class', sa.String(length=12), server_default='farm', nullable=False))
        batch_op.create_check_constraint(
            batch_op.f('ck_categories_food_class_valid'), "food_class IN ('farm','processed','non_food')")
    op.execute("UPDATE categories SET food_class = 'processed' WHERE slug IN ('pickles', 'poultry', 'rice')")



def downgrade():
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_categories_food_class_valid'), type_='check')
        batch_op.drop_column('food_class')

    op.drop_table('document_reminders')
    with op.batch_alter_table('product_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_product_documents_product_kind')

    op.drop_table('product_documents')
